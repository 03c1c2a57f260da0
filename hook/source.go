package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"

	"github.com/refimage/refimage/resource"
)

// FetchArtifact resolves fetch_artifact with the step's params first, then
// the resource's source, then the type's defaults, and says where it was
// found. Only a JSON bool is accepted: "true", "yes" or 1 are errors, not
// guesses.
func FetchArtifact(params, source, defaults map[string]any) (*bool, string, error) {
	for _, layer := range []struct {
		where  string
		values map[string]any
	}{{"params", params}, {"source", source}, {"defaults", defaults}} {
		v, err := boolParam(layer.values, ControlParamFetchArtifact, layer.where)
		if err != nil || v != nil {
			return v, layer.where + "." + ControlParamFetchArtifact, err
		}
	}
	return nil, "", nil
}

func boolParam(values map[string]any, key, where string) (*bool, error) {
	raw, ok := values[key]
	if !ok || raw == nil {
		return nil, nil
	}
	b, ok := raw.(bool)
	if !ok {
		if s, isString := raw.(string); isString && varPattern.MatchString(s) {
			return nil, &UnevaluatedError{Field: where + "." + key, Var: s}
		}
		return nil, fmt.Errorf("read %s.%s: %s must be true or false, not %s", where, key, key, describe(raw))
	}
	return &b, nil
}

func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return fmt.Sprintf("%s (a JSON %T)", b, v)
}

// mergeSource puts the type's defaults under the source, key by key, as
// Concourse merges them.
func mergeSource(defaults, source map[string]any) map[string]any {
	out := maps.Clone(defaults)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, source)
	return out
}

// varPattern is what Concourse interpolates (its vars package's
// interpolationRegex): a regular expression such as tag_regex
// "^((dev|prod))-" is not a var, and Concourse leaves it as it is.
var varPattern = regexp.MustCompile(`\(\((([-/\.\w\pL]+\:)?[-/\.:@"\w\pL]+)\)\)`)

// credentialFields are never scanned for ((var)): an evaluated secret may
// contain "((" legitimately, and an error must not echo any part of it. A
// placeholder left there fails at the registry, never in a reference.
// content_trust (keys, passphrase) is ignored by in and skipped whole, and
// so is sign (put's private key and its password). Paths
// compare without case, as encoding/json matches keys ("Password" is
// source.password).
var credentialFields = []string{
	"source.password", "source.registry_mirror.password",
	"source.aws_secret_access_key", "source.aws_session_token", "source.content_trust",
	"source.sign",
}

func isCredential(path string) bool {
	for _, f := range credentialFields {
		if strings.EqualFold(path, f) {
			return true
		}
	}
	return false
}

// findVar returns the path of the first string that still holds a ((var)),
// in a stable order.
func findVar(path string, v any) (string, string) {
	if isCredential(path) {
		return "", ""
	}
	switch v := v.(type) {
	case string:
		if m := varPattern.FindString(v); m != "" {
			return path, m
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, m := findVar(path+"."+k, v[k]); p != "" {
				return p, m
			}
		}
	case []any:
		for i, e := range v {
			if p, m := findVar(fmt.Sprintf("%s[%d]", path, i), e); p != "" {
				return p, m
			}
		}
	}
	return "", ""
}

func decodeSource(values map[string]any) (resource.Source, error) {
	return decodeChecked[resource.Source]("source", values)
}

func decodeParams(values map[string]any) (resource.GetParams, error) {
	return decodeChecked[resource.GetParams]("params", values)
}

// errShape marks a request the resource cannot read at all: a field it
// does not know, or a value of the wrong JSON type. Such a get runs a pod
// (the pod's in decides), whatever ((var)) it holds.
var errShape = errors.New("not the resource's shape")

type shapeError struct{ err error }

func (e *shapeError) Error() string   { return e.err.Error() }
func (e *shapeError) Unwrap() []error { return []error{e.err, errShape} }

// decodeChecked decodes values strictly: a JSON-level failure is a
// shapeError with the resource's own message; then a ((var)) left in a
// value is an UnevaluatedError; then the resource's validation runs.
func decodeChecked[T any](what string, values map[string]any) (T, error) {
	var out T
	if values == nil {
		values = map[string]any{}
	}
	b, err := json.Marshal(values)
	if err != nil {
		return out, fmt.Errorf("decode %s: %w", what, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		if explained := resource.Decode(bytes.NewReader(b), new(T)); explained != nil {
			err = explained
		}
		return out, &shapeError{fmt.Errorf("decode %s: %w", what, err)}
	}
	if p, m := findVar(what, values); p != "" {
		return out, &UnevaluatedError{Field: p, Var: m}
	}
	if v, ok := any(out).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return out, fmt.Errorf("decode %s: %w", what, err)
		}
	}
	return out, nil
}
