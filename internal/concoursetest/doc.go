// Package concoursetest runs stock Concourse's own pipeline parser,
// ../shared/tools/concourse-validate (compiled from upstream Concourse), on
// the pipelines and fragments the project shows, so that tests hold them to
// what `fly set-pipeline` accepts instead of to a hand-written imitation.
//
// It also splits Markdown into fenced code blocks, for the tests that run
// every block of README.md and docs/.
//
// The package is meant for _test.go files only.
package concoursetest
