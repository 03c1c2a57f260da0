// Package ci holds refimage's own Concourse pipeline (pipeline.yml, with its
// task files under tasks/) and the specs that check its structure. The image
// build lives in ci/imagebuild (the program) and ci/resourceimage (the
// library).
package ci
