package signature

import (
	"crypto/sha256"
	"sync"
)

// recentKeys is how many parsed key sets ParsePublicKeys remembers.
const recentKeys = 64

// parsedKeys remembers the key sets parsed last. A runtime hook decodes
// the same source.verify at every decision, twice (validation, then the
// check): the two x509 parses were about an eighth of a cached verified
// decision and a quarter of its allocations. Keys never change once
// parsed, so one value serves every caller; a failed parse is not
// remembered. (The hook's own LRU is out of reach here: signature links
// nothing of the hook's.)
var parsedKeys = keyMemo{byText: map[[sha256.Size]byte]*Keys{}}

// keyMemo is a bounded map from the text of the entries to their keys,
// dropping the oldest entry when full.
type keyMemo struct {
	mu     sync.Mutex
	byText map[[sha256.Size]byte]*Keys
	order  [][sha256.Size]byte // oldest first
}

// textKey names entries by content: two lists of the same texts in the
// same order are one key set. NUL cannot occur in PEM, so the join is
// unambiguous.
func textKey(entries []string) [sha256.Size]byte {
	h := sha256.New()
	for _, e := range entries {
		h.Write([]byte(e))
		h.Write([]byte{0})
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (m *keyMemo) get(k [sha256.Size]byte) (*Keys, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys, ok := m.byText[k]
	return keys, ok
}

func (m *keyMemo) put(k [sha256.Size]byte, keys *Keys) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byText[k]; ok {
		return
	}
	if len(m.order) == recentKeys {
		delete(m.byText, m.order[0])
		m.order = m.order[1:]
	}
	m.byText[k] = keys
	m.order = append(m.order, k)
}
