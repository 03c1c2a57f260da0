//go:build kubernetes

package kubernetes_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// pki is one run's keys: a CA that signs the API server's, the kubelet's
// and the registry's serving certificates, the service-account key pair,
// and the bearer tokens of the admin and the node. Nothing outlives the run.
type pki struct {
	dir                   string
	caPEM                 []byte
	adminToken, nodeToken string
}

func (p *pki) file(name string) string { return filepath.Join(p.dir, name) }

// registryUser is an htpasswd account of the suite's registry.
type registryUser struct{ name, password string }

// newPKI writes the run's keys, certificates, token file and htpasswd into dir.
func newPKI(dir string, users []registryUser) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	caTmpl := certTemplate("refimage-k8s-e2e-ca")
	caTmpl.IsCA, caTmpl.BasicConstraintsValid = true, true
	caTmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("sign CA: %w", err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &pki{dir: dir, caPEM: pemBlock("CERTIFICATE", caDER), adminToken: randomHex(16), nodeToken: randomHex(16)}
	if err := os.WriteFile(p.file("ca.crt"), p.caPEM, 0o644); err != nil {
		return nil, err
	}
	servers := []struct {
		name, cn string
		ips      []string
		dns      []string
	}{
		{"apiserver", "kube-apiserver", []string{"127.0.0.1", nodeIP, serviceIP}, []string{"localhost", "kubernetes", "kubernetes.default.svc"}},
		{"kubelet", nodeName, []string{nodeIP}, []string{nodeName}},
		{"registry", nodeIP, []string{nodeIP, "127.0.0.1"}, nil},
	}
	for _, srv := range servers {
		if err := p.issue(ca, caKey, srv.name, srv.cn, srv.ips, srv.dns); err != nil {
			return nil, err
		}
	}
	if err := p.writeServiceAccountKey(); err != nil {
		return nil, err
	}
	tokens := fmt.Sprintf("%s,admin,admin,system:masters\n%s,system:node:%s,node-%s,system:nodes\n",
		p.adminToken, p.nodeToken, nodeName, nodeName)
	if err := os.WriteFile(p.file("tokens.csv"), []byte(tokens), 0o600); err != nil {
		return nil, err
	}
	return p, writeHtpasswd(p.file("htpasswd"), users)
}

func (p *pki) issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, name, cn string, ips, dns []string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate %s key: %w", name, err)
	}
	tmpl := certTemplate(cn)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	tmpl.DNSNames = dns
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("sign %s certificate: %w", name, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.file(name+".crt"), pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return err
	}
	return os.WriteFile(p.file(name+".key"), pemBlock("EC PRIVATE KEY", keyDER), 0o600)
}

// writeServiceAccountKey writes the key the API server signs service
// account tokens with (RSA: the signing key file takes RSA or EC; RSA is
// what every Kubernetes release accepts).
func (p *pki) writeServiceAccountKey() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.file("sa.key"), pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), 0o600); err != nil {
		return err
	}
	return os.WriteFile(p.file("sa.pub"), pemBlock("PUBLIC KEY", pub), 0o644)
}

// writeHtpasswd writes bcrypt entries at the minimum cost: the accounts
// are the run's own, and a cheap hash keeps each authenticated request fast.
func writeHtpasswd(path string, users []registryUser) error {
	var b []byte
	for _, u := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(u.password), bcrypt.MinCost)
		if err != nil {
			return fmt.Errorf("hash the password of %s: %w", u.name, err)
		}
		b = append(b, u.name+":"+string(h)+"\n"...)
	}
	return os.WriteFile(path, b, 0o600)
}

func certTemplate(cn string) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"refimage k8s-e2e"}},
		NotBefore:    now.Add(-time.Hour), // a clock a little behind still accepts it
		NotAfter:     now.Add(48 * time.Hour),
	}
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
