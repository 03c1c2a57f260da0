// Command refimage exposes the runtime hook to runtimes not written in Go
// and to pipeline authors:
//
//	refimage resolve < request.json    decision, files, reference, objects
//	refimage explain [--json] [--labels] [--schema-has-produces] PIPELINE.yml
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/refimage/refimage/internal/cli"
)

const usage = `usage:
  refimage resolve < REQUEST.json     decide a get step and resolve it with no pod
  refimage explain [--json] [--labels] [--schema-has-produces] PIPELINE.yml
                                      for every get step: pod or not, why, and its users;
                                      the pipeline is read as stock Concourse reads it
    --json                            rows as JSON
    --labels                          look custom types' image labels up in their registries
    --schema-has-produces             the runtime's pipeline schema has produces (stock
                                      Concourse and JetBridge reject it)`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	switch args[0] {
	case "resolve":
		if len(args) != 1 {
			fmt.Fprintln(stderr, "refimage resolve takes no arguments: give the request on stdin")
			return 2
		}
		return cli.Run(ctx, nil, stdin, stdout, stderr, os.LookupEnv,
			func(ctx context.Context, env cli.Env, req resolveRequest) (any, error) {
				return resolve(ctx, env, req)
			})
	case "explain":
		return runExplain(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "refimage: unknown command %q\n%s\n", args[0], usage)
	return 2
}

func runExplain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	asJSON, producesKey, labels := false, false, false
	var file string
	for _, a := range args {
		switch {
		case a == "--json":
			asJSON = true
		case a == "--schema-has-produces":
			producesKey = true
		case a == "--labels":
			labels = true
		case file == "" && len(a) > 0 && a[0] != '-':
			file = a
		default:
			fmt.Fprintf(stderr, "refimage explain: unexpected argument %q\n%s\n", a, usage)
			return 2
		}
	}
	if file == "" {
		fmt.Fprintf(stderr, "refimage explain: give the pipeline file\n%s\n", usage)
		return 2
	}
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "refimage explain: read pipeline: %v\n", err)
		return 1
	}
	p, err := parsePipeline(file, data, producesKey)
	if err != nil {
		fmt.Fprintf(stderr, "refimage explain: %v\n", err)
		return 1
	}
	rows := explain(ctx, p, labels)
	write := writeTable
	if asJSON {
		write = writeJSON
	}
	if err := write(stdout, rows); err != nil {
		fmt.Fprintf(stderr, "refimage explain: write output: %v\n", err)
		return 1
	}
	return 0
}
