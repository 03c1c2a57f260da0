// Package cli is the wiring every refimage executable shares: it decodes the
// request from stdin, sends logs to stderr (with credentials redacted),
// runs the action, prints the response on stdout and turns the outcome into
// an exit code. It is, with cmd/*, the only code that touches the process:
// os.Stdin, os.Args, os.Exit and the environment.
package cli
