package kube

import (
	"context"
	"fmt"
	"maps"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnnotationApplied is when ApplySecret or ApplyConfigMap last marked an
// object as in use (RFC 3339, UTC): Collect keeps an object marked within
// its grace period, so that one applied for a pod that is not created yet
// is not deleted under it.
const AnnotationApplied = "refimage.github.io/applied"

// StampInterval is how stale AnnotationApplied may be before an apply
// refreshes it (one Update): an unchanged object costs one Get in between.
// Collect's grace period must be longer, by at least the time a runtime
// takes from an apply to creating its pod.
const StampInterval = 10 * time.Minute

// stamp refreshes m's AnnotationApplied when it is missing, unreadable or
// older than StampInterval, and reports whether it did.
func stamp(m *metav1.ObjectMeta, now time.Time) bool {
	if t, err := time.Parse(time.RFC3339, m.Annotations[AnnotationApplied]); err == nil && now.Sub(t) < StampInterval {
		return false
	}
	m.Annotations = merged(m.Annotations, map[string]string{AnnotationApplied: now.UTC().Format(time.RFC3339)})
	return true
}

// applyAttempts bounds an apply's retries when another writer wins a race
// (AlreadyExists on create, Conflict on update).
const applyAttempts = 3

// objectClient is the part of a typed client of one kind that an apply
// uses; SecretClient and ConfigMapClient are its two instances.
type objectClient[T any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// applied is what one kind's apply decides: the object to create, stamped
// (fresh), and what an existing object should become (want, with false
// when it already is that, or an error when it is not refimage's).
type applied[T any] struct {
	kind  string // "secret", "configmap": for errors
	name  string
	fresh func(now time.Time) T
	want  func(existing T, now time.Time) (T, bool, error)
}

// apply creates the object, or updates the one of its name to what want
// says. A race lost to another writer (the name created meanwhile, an
// update on a stale version, the object deleted between the Get and the
// Update) starts again, applyAttempts times in all.
func apply[T any](ctx context.Context, c objectClient[T], a applied[T]) (T, error) {
	var zero T
	var err error
	for range applyAttempts {
		var existing T
		existing, err = c.Get(ctx, a.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			var created T
			created, err = c.Create(ctx, a.fresh(time.Now()), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			return created, a.wrap("create", err)
		}
		if err != nil {
			return zero, a.wrap("get", err)
		}
		want, changed, werr := a.want(existing, time.Now())
		if werr != nil {
			return zero, fmt.Errorf("apply %s %s: %w", a.kind, a.name, werr)
		}
		if !changed {
			return existing, nil
		}
		var updated T
		updated, err = c.Update(ctx, want, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			continue
		}
		return updated, a.wrap("update", err)
	}
	return zero, fmt.Errorf("apply %s %s: another writer changed it %d times in a row: %w", a.kind, a.name, applyAttempts, err)
}

func (a applied[T]) wrap(verb string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s %s: %w", verb, a.kind, a.name, err)
}

// added is have with the keys of add it lacks: a label once set stays.
func added(have, add map[string]string) map[string]string {
	out := maps.Clone(have)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range add {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

func merged(have, add map[string]string) map[string]string {
	if len(add) == 0 {
		return have
	}
	out := maps.Clone(have)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, add)
	return out
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
