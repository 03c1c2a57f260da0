package check

import (
	"context"
	"errors"

	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
	"github.com/refimage/refimage/signature"
)

// verified keeps, in order, the versions whose digest carries a signature
// by one of source.verify.public_keys; every other version is skipped with
// one warning that names its tag and why, so that no build starts on it.
// Each digest is verified once, through the lookup's bounded pool. A
// registry that fails fails the check: an outage is not an unsigned image.
func verified(ctx context.Context, l *lookup, src resource.Source, versions resource.CheckResponse, log logrus.FieldLogger) (resource.CheckResponse, error) {
	keys, err := src.VerifyKeys()
	if err != nil || keys == nil || len(versions) == 0 {
		return versions, err
	}
	var digests []string
	index := map[string]int{}
	for _, v := range versions {
		if _, seen := index[v.Digest]; !seen {
			index[v.Digest] = len(digests)
			digests = append(digests, v.Digest)
		}
	}
	refused := make([]*signature.UnverifiedError, len(digests))
	err = forEach(ctx, l.concurrency, len(digests), func(i int) error {
		err := registry.CheckSignature(l.client.Repository.Digest(digests[i]), keys, l.client)
		if errors.As(err, &refused[i]) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	kept := resource.CheckResponse{}
	for _, v := range versions {
		if u := refused[index[v.Digest]]; u != nil {
			log.Warnf("skipping tag %s (%s): not verified: %s", v.Tag, v.Digest, u.Reason)
			continue
		}
		kept = append(kept, v)
	}
	return kept, nil
}
