package resource

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// File is one file in reference mode's output, relative to the destination.
type File struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// VersionFiles are the repository, tag and digest files every mode of in
// writes, byte for byte as registry-image writes them. Give it the source
// as Shown.
func VersionFiles(src Source, version Version) []File {
	return []File{
		{Name: "repository", Data: []byte(src.Repository)},
		{Name: "tag", Data: []byte(version.Tag)},
		{Name: "digest", Data: []byte(version.Digest)},
	}
}

// VersionMetadata is the metadata every mode of in prints before the
// labels and annotations that label_regex and annotation_regex select.
// Give it the source as Shown.
func VersionMetadata(src Source, version Version) []MetadataField {
	return []MetadataField{{Name: "repository", Value: src.Repository}, {Name: "tag", Value: version.Tag}}
}

// WantsImageMetadata reports whether label_regex or annotation_regex ask
// for metadata that only the image's config or manifest hold.
func (s Source) WantsImageMetadata() bool {
	return s.LabelRegex != "" || s.AnnotationRegex != ""
}

// ImageMetadata returns the config labels and manifest annotations of img
// that label_regex and annotation_regex select, in that order, as
// registry-image adds them after repository and tag. It reads the config
// only for label_regex.
func ImageMetadata(src Source, img v1.Image) ([]MetadataField, error) {
	var fields []MetadataField
	if src.LabelRegex != "" {
		re, err := regexp.Compile(src.LabelRegex)
		if err != nil {
			return nil, fieldErrorf("source.label_regex", "%v", err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("read the image config: %w", err)
		}
		fields = append(fields, MatchingFields(re, cfg.Config.Labels)...)
	}
	if src.AnnotationRegex != "" {
		re, err := regexp.Compile(src.AnnotationRegex)
		if err != nil {
			return nil, fieldErrorf("source.annotation_regex", "%v", err)
		}
		m, err := img.Manifest()
		if err != nil {
			return nil, fmt.Errorf("read the image manifest: %w", err)
		}
		fields = append(fields, MatchingFields(re, m.Annotations)...)
	}
	return fields, nil
}

// MatchingFields returns the entries whose key matches re, sorted by key,
// as registry-image adds labels and annotations to metadata.
func MatchingFields(re *regexp.Regexp, values map[string]string) []MetadataField {
	var fields []MetadataField
	for k, v := range values {
		if re.MatchString(k) {
			fields = append(fields, MetadataField{Name: k, Value: v})
		}
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	return fields
}

// imageMetadata is metadata.json of the rootfs format, registry-image's.
type imageMetadata struct {
	Cmd        []string `json:"cmd"`
	Entrypoint []string `json:"entrypoint"`
	Env        []string `json:"env"`
	User       string   `json:"user"`
}

// LabelsFile is labels.json: the config's labels ({} when it has none), as
// every format of a full download writes it.
func LabelsFile(cfg *v1.ConfigFile) (File, error) {
	labels := cfg.Config.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return jsonFile("labels.json", labels)
}

// MetadataFile is metadata.json, as the rootfs format writes it: the
// config's cmd, entrypoint, env and user.
func MetadataFile(cfg *v1.ConfigFile) (File, error) {
	return jsonFile("metadata.json", imageMetadata{Cmd: cfg.Config.Cmd, Entrypoint: cfg.Config.Entrypoint, Env: cfg.Config.Env, User: cfg.Config.User})
}

// ImageFiles are metadata.json and labels.json, the files reference mode
// adds with fetch_metadata: byte for byte what a rootfs download writes,
// from the same functions.
func ImageFiles(cfg *v1.ConfigFile) ([]File, error) {
	m, err := MetadataFile(cfg)
	if err != nil {
		return nil, err
	}
	l, err := LabelsFile(cfg)
	if err != nil {
		return nil, err
	}
	return []File{m, l}, nil
}

func jsonFile(name string, v any) (File, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return File{}, fmt.Errorf("encode %s: %w", name, err)
	}
	return File{Name: name, Data: append(b, '\n')}, nil
}
