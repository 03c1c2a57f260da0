package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

// Request is a decoded Concourse request.
type Request interface {
	Secrets() []string
	DebugEnabled() bool
}

// Env is what an action may know of its process.
type Env struct {
	// Args are the command-line arguments after the program name (in's and
	// out's directory).
	Args []string
	// Stderr is for progress output; it redacts credentials.
	Stderr io.Writer
	Log    *logrus.Logger
	// KubernetesPod is true when KUBERNETES_SERVICE_HOST is set.
	KubernetesPod bool
	// Build holds Concourse's BUILD_* and ATC_EXTERNAL_URL variables.
	Build map[string]string
	// Redact adds credentials obtained at run time (cloud tokens) to those
	// Stderr and Log hide.
	Redact func(secrets ...string)
	// Version is the release the executable was built from (Version).
	Version string
}

// Action runs one resource action.
type Action[Req Request] func(ctx context.Context, env Env, req Req) (any, error)

// Main runs action as the process and exits.
func Main[Req Request](action Action[Req]) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv, action)
	stop()
	os.Exit(code)
}

var buildVars = []string{"BUILD_ID", "BUILD_NAME", "BUILD_JOB_NAME", "BUILD_PIPELINE_NAME", "BUILD_TEAM_NAME", "ATC_EXTERNAL_URL"}

// Run is Main without the process: it returns the exit code.
func Run[Req Request](ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool), action Action[Req]) int {
	redacting := &redactWriter{w: stderr}
	log := NewLogger(redacting)

	var req Req
	if err := resource.Decode(stdin, &req); err != nil {
		log.Error(oneLine(err.Error()))
		return 1
	}
	redacting.secrets = req.Secrets()
	if req.DebugEnabled() {
		log.SetLevel(logrus.DebugLevel)
	}

	env := Env{Args: args, Stderr: redacting, Log: log, Build: map[string]string{}, Redact: redacting.add, Version: Version}
	_, env.KubernetesPod = lookupEnv("KUBERNETES_SERVICE_HOST")
	for _, k := range buildVars {
		if v, ok := lookupEnv(k); ok {
			env.Build[k] = v
		}
	}

	resp, err := action(ctx, env, req)
	if err != nil {
		log.Error(oneLine(registry.RedactURLs(err.Error())))
		return 1
	}
	out, err := json.Marshal(resp)
	if err != nil {
		log.Errorf("encode response: %v", err)
		return 1
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", out); err != nil {
		log.Errorf("write response: %v", err)
		return 1
	}
	return 0
}

// oneLine folds a message onto a single line, so that Concourse shows the
// whole error where the build log ends.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Arg returns the i-th argument, or "" when there is none.
func (e Env) Arg(i int) string {
	if i < len(e.Args) {
		return e.Args[i]
	}
	return ""
}
