package hook

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"sync"
	"time"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// maxTransports bounds the transports a Hook keeps: one per distinct
// ca_certs, which a runtime has a handful of.
const maxTransports = 64

// transports holds one HTTP transport per TLS setting for a Hook's
// lifetime, so that its decisions share connections (and their TLS
// handshakes) instead of each opening its own and leaving it idle.
type transports struct {
	mu   sync.Mutex
	byCA map[[32]byte]*http.Transport
}

// forSource returns the transport for src's ca_certs, made on first use.
func (t *transports) forSource(src resource.Source) (*http.Transport, error) {
	key := caKey(src.CACerts)
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr, ok := t.byCA[key]; ok {
		return tr, nil
	}
	tr, err := registry.NewTransport(src.CACerts)
	if err != nil {
		return nil, err
	}
	if t.byCA == nil {
		t.byCA = map[[32]byte]*http.Transport{}
	}
	if len(t.byCA) < maxTransports {
		t.byCA[key] = tr
	}
	return tr, nil
}

// caKey identifies a list of certificates, each length-prefixed so that
// no two lists share a key.
func caKey(certs []string) [32]byte {
	h := sha256.New()
	for _, c := range certs {
		_ = binary.Write(h, binary.BigEndian, uint64(len(c)))
		h.Write([]byte(c))
	}
	var key [32]byte
	h.Sum(key[:0])
	return key
}

// clientOptions are the options of a client for src: the shared transport
// first, so that a transport the runtime passes (WithClientOptions) wins.
func (h *Hook) clientOptions(src resource.Source) ([]registry.Option, error) {
	tr, err := h.transports.forSource(src)
	if err != nil {
		return nil, err
	}
	return append([]registry.Option{registry.WithTransport(tr)}, h.clientOpts...), nil
}

const (
	// maxClients bounds the connections a Hook keeps: one per source
	// configuration (repository, credentials, TLS) in use.
	maxClients = 256
	// clientTTL is how long one connection serves decisions: a registry
	// that moved its token service, or revoked a token for good, is asked
	// again within it.
	clientTTL = 5 * time.Minute
	// expiryMargin: a connection whose cloud credentials expire within it
	// is not handed out again.
	expiryMargin = time.Minute
)

// openPooled is the Hook's opener when the runtime gives none: one
// registry.Client per source configuration, shared by the decisions that
// come within clientTTL (and before its cloud credentials expire), each
// under its own context. The auth ping and the token exchange (ECR's and
// ACR's included) are then made once, not at every decision. Sources are
// told apart by a hash of their whole configuration, credentials
// included: two accounts never share a connection, and no credential is
// held as a key.
func (h *Hook) openPooled(ctx context.Context, src resource.Source) (registry.Registry, error) {
	key := sourceKey(src)
	if c, ok := h.clients.getAt(key, h.now()); ok {
		return c.WithContext(ctx), nil
	}
	opts, err := h.clientOptions(src)
	if err != nil {
		return nil, err
	}
	c, err := registry.NewClient(ctx, src, opts...)
	if err != nil {
		return nil, err
	}
	until := h.now().Add(clientTTL)
	if exp := c.Endpoint().Expires; !exp.IsZero() && exp.Add(-expiryMargin).Before(until) {
		until = exp.Add(-expiryMargin)
	}
	if h.now().Before(until) {
		h.clients.putUntil(key, c, until)
	}
	return c, nil
}
