// Package readme holds only a test: it keeps every command and snippet of
// the README true. Pipelines are run through `refimage explain` and compared
// with the output the README shows, the Go example is compiled, and every
// `make` target named exists.
package readme
