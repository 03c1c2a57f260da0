// Package readme holds only tests: they keep every command and snippet of
// the README and docs/ true. Every YAML block of README.md and docs/*.md is
// run through stock Concourse's parser (../shared/tools/concourse-validate),
// pipelines through `refimage explain` and compared with the output the
// README shows, the Go example is compiled, and every `make` target named
// exists.
package readme
