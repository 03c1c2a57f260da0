package out

import (
	"crypto"
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
	"github.com/refimage/refimage/signature/sign"
)

// signer decrypts source.sign's private key, before anything is pushed: a
// key that cannot sign fails the put with nothing in the registry. With
// source.verify too, the key must be one of its public keys, or the get
// that follows the put would refuse what it pushed. Nil when sign is not
// set. Its errors hold neither the key nor its password.
func signer(src resource.Source, log logrus.FieldLogger) (crypto.Signer, error) {
	if src.Sign == nil {
		if src.Verify != nil {
			log.Warn("source.verify is set but source.sign is not: the get after this put verifies the pushed digest, so it must be signed elsewhere first")
		}
		return nil, nil
	}
	key, err := sign.LoadPrivateKey(src.Sign.PrivateKey, src.Sign.Password)
	if err != nil {
		return nil, fmt.Errorf("invalid source.sign: %w; nothing was pushed", err)
	}
	keys, err := src.VerifyKeys()
	if err != nil {
		return nil, err
	}
	if keys != nil && !keys.Contains(key.Public()) {
		return nil, fmt.Errorf("invalid source.sign.private_key: its public key is not in source.verify.public_keys, so the get after this put would refuse what it pushes: add the key's cosign.pub to the list; nothing was pushed")
	}
	return key, nil
}

// signPushed attaches a signature of the pushed digest where cosign looks
// for it (sha256-<hex>.sig), after the image and its tags are in place,
// and returns that tag.
func signPushed(client *registry.Client, digest string, key crypto.Signer, anonymous bool, log logrus.FieldLogger) (string, error) {
	pinned := client.Repository.Digest(digest)
	if err := sign.Attach(pinned, key, client.Remote...); err != nil {
		return "", fmt.Errorf("%w; the image and its tags were pushed unsigned", explain("sign "+pinned.String(), client.Repository, anonymous, err))
	}
	tag := signatureTag(digest)
	log.Infof("signed %s: %s:%s", digest, client.Repository, tag)
	return tag, nil
}

func signatureTag(digest string) string {
	return strings.Replace(digest, ":", "-", 1) + ".sig"
}
