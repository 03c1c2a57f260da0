package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Version is what Concourse stores for one image: the tag it was found under
// and the digest it pointed to at the time.
type Version struct {
	Tag    string `json:"tag"`
	Digest string `json:"digest"`
}

// MetadataField is one name/value pair shown in the Concourse UI.
type MetadataField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CheckRequest is what Concourse sends to check on stdin.
type CheckRequest struct {
	Source  Source   `json:"source"`
	Version *Version `json:"version"`
}

// CheckResponse lists versions, oldest first.
type CheckResponse []Version

// InRequest is what Concourse sends to in on stdin.
type InRequest struct {
	Source  Source    `json:"source"`
	Params  GetParams `json:"params"`
	Version Version   `json:"version"`
}

// OutRequest is what Concourse sends to out on stdin.
type OutRequest struct {
	Source Source    `json:"source"`
	Params PutParams `json:"params"`
}

// VersionResponse is what in and out print on stdout.
type VersionResponse struct {
	Version  Version         `json:"version"`
	Metadata []MetadataField `json:"metadata"`
}

// Decode reads exactly one JSON object from r into req, rejecting unknown
// fields and trailing data, then validates it when req knows how.
// Its errors are single lines that say what to change in the pipeline.
func Decode(r io.Reader, req any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("read request: stdin is empty; a resource expects one JSON object from Concourse")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return errors.New("invalid request: more than one JSON value on stdin")
	}
	if v, ok := req.(interface{ Validate() error }); ok {
		return v.Validate()
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("invalid request: malformed JSON at byte %d: %w", syntax.Offset, err)
	case errors.As(err, &typ):
		return fmt.Errorf("invalid request: field %q must be %s, not a JSON %s", jsonPath(typ.Field), kindOf(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return fmt.Errorf("invalid request: unknown field %s: remove it or check its spelling", field)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("invalid request: truncated JSON: %w", err)
	}
	var fieldErr *FieldError
	if errors.As(err, &fieldErr) {
		return fieldErr
	}
	return fmt.Errorf("invalid request: %w", err)
}

// jsonPath is encoding/json's field path without the names of embedded
// structs ("source.Credentials.password" is source.password): every JSON
// key of a request is lower case, every embedded Go type is not.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	kept := parts[:0]
	for _, p := range parts {
		if p != "" && unicode.IsUpper(rune(p[0])) {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, ".")
}

func kindOf(goKind string) string {
	switch goKind {
	case "bool":
		return "true or false"
	case "slice":
		return "a list"
	case "struct", "map", "ptr":
		return "an object"
	case "int", "int64", "float64":
		return "a number"
	}
	return "a " + goKind
}

// FieldError says which field of a request is wrong and how to fix it.
type FieldError struct {
	Field string // dotted path, e.g. "source.tag_regex"
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Msg) }

func fieldErrorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
