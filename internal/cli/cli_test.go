package cli_test

import (
	"bytes"
	"context"
	"errors"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/cli"
	"github.com/refimage/refimage/registry"
	"github.com/refimage/refimage/resource"
)

var _ = Describe("Run", func() {
	var stdout, stderr *bytes.Buffer
	env := map[string]string{}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	BeforeEach(func() {
		stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
		env = map[string]string{}
	})

	run := func(body string, action cli.Action[resource.CheckRequest]) int {
		return cli.Run(context.Background(), []string{"/tmp/dest"}, strings.NewReader(body), stdout, stderr, lookup, action)
	}
	const body = `{"source":{"repository":"app","password":"hunter2-secret","registry_mirror":{"host":"m","password":"mirror-secret"}}}`

	It("prints the response as one JSON line and exits 0", func() {
		code := run(body, func(ctx context.Context, e cli.Env, req resource.CheckRequest) (any, error) {
			Expect(e.Args).To(Equal([]string{"/tmp/dest"}))
			return resource.CheckResponse{{Tag: "1", Digest: "sha256:x"}}, nil
		})
		Expect(code).To(Equal(0))
		Expect(stdout.String()).To(Equal(`[{"tag":"1","digest":"sha256:x"}]` + "\n"))
		Expect(stderr.String()).To(BeEmpty())
	})

	It("turns an error into one redacted line on stderr, nothing on stdout, exit 1", func() {
		code := run(body, func(ctx context.Context, e cli.Env, req resource.CheckRequest) (any, error) {
			e.Log.Warnf("trying with hunter2-secret")
			return nil, errors.New("registry said:\nno to hunter2-secret and mirror-secret")
		})
		Expect(code).To(Equal(1))
		Expect(stdout.String()).To(BeEmpty())
		Expect(stderr.String()).To(Equal("warning: trying with [redacted]\nerror: registry said: no to [redacted] and [redacted]\n"))
	})

	It("redacts credentials the action obtains at run time, such as a cloud token, from the log, stderr and the error", func() {
		code := run(body, func(ctx context.Context, e cli.Env, req resource.CheckRequest) (any, error) {
			e.Redact("ecr-token-123", "")
			e.Log.Infof("got ecr-token-123")
			_, _ = e.Stderr.Write([]byte("progress ecr-token-123\n"))
			return nil, errors.New("registry refused ecr-token-123")
		})
		Expect(code).To(Equal(1))
		Expect(stderr.String()).To(Equal("got [redacted]\nprogress [redacted]\nerror: registry refused [redacted]\n"))
	})

	It("gives the actions client options that carry the cloud resolver", func() {
		run(body, func(ctx context.Context, e cli.Env, req resource.CheckRequest) (any, error) {
			opts := e.ClientOptions()
			Expect(opts).To(HaveLen(1))
			// With a cancelled context the cloud resolver fails before
			// any request leaves; the static one would refuse the source.
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			_, err := registry.NewClient(cancelled, resource.Source{Repository: "app", CloudCredentials: resource.CloudCredentials{AWSRegion: "eu-west-1"}}, opts...)
			Expect(err).To(MatchError(ContainSubstring("get an ECR token in eu-west-1")))
			Expect(err).To(MatchError(context.Canceled))
			return []string{}, nil
		})
	})

	It("rejects a bad request before running the action", func() {
		ran := false
		code := run(`{"source":{"repository":"app","nope":1}}`, func(context.Context, cli.Env, resource.CheckRequest) (any, error) {
			ran = true
			return nil, nil
		})
		Expect(code).To(Equal(1))
		Expect(ran).To(BeFalse())
		Expect(stderr.String()).To(HavePrefix(`error: invalid request: unknown field "nope"`))
	})

	It("hands the action the Kubernetes marker and Concourse's build variables", func() {
		env["KUBERNETES_SERVICE_HOST"] = "10.0.0.1"
		env["BUILD_ID"] = "42"
		var got cli.Env
		run(body, func(ctx context.Context, e cli.Env, req resource.CheckRequest) (any, error) {
			got = e
			return []string{}, nil
		})
		Expect(got.KubernetesPod).To(BeTrue())
		Expect(got.Build).To(Equal(map[string]string{"BUILD_ID": "42"}))
	})

	It("raises the log level with source.debug", func() {
		run(`{"source":{"repository":"app","debug":true}}`, func(ctx context.Context, e cli.Env, req resource.CheckRequest) (any, error) {
			e.Log.Debug("details")
			return []string{}, nil
		})
		Expect(stderr.String()).To(Equal("debug: details\n"))
	})
})
