package cloud_test

import (
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
)

// The check binary as Concourse runs it. A binary takes no test options,
// so the AWS SDK is pointed at the fake through its standard variables
// (AWS_ENDPOINT_URL_ECR, AWS_CA_BUNDLE); without aws_account_id the
// registry is the one the token names, here the in-process registry.
var _ = Describe("the check binary against ECR", Ordered, func() {
	var (
		bin    string
		hook   string
		ecr    *fakeECR
		reg    *registrytest.Registry
		digest string
		env    []string
	)
	BeforeAll(func() {
		var err error
		bin, err = gexec.Build("github.com/refimage/refimage/cmd/check")
		Expect(err).NotTo(HaveOccurred())
		hook, err = gexec.Build("github.com/refimage/refimage/cmd/refimage")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)
	})
	BeforeEach(func() {
		reg = registrytest.NewInProcess(registrytest.WithBasicAuth("AWS", "ecr-password-eu-west-1"))
		DeferCleanup(reg.Close)
		img, err := imagetest.Image(imagetest.Spec{})
		Expect(err).NotTo(HaveOccurred())
		digest, err = imagetest.Push(reg.Repo("team/app")+":3.0.0", img, reg.RemoteOptions()...)
		Expect(err).NotTo(HaveOccurred())
		ecr = newFakeECR("eu-west-1", "https://"+reg.Host)
		ecr.wantHost = ecr.Listener.Addr().String()
		DeferCleanup(ecr.Close)

		dir := GinkgoT().TempDir()
		bundle := filepath.Join(dir, "ca.pem")
		Expect(os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ecr.Certificate().Raw}), 0o600)).To(Succeed())
		empty := filepath.Join(dir, "empty")
		Expect(os.WriteFile(empty, nil, 0o600)).To(Succeed())
		env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"),
			"AWS_ENDPOINT_URL_ECR=" + ecr.URL, "AWS_CA_BUNDLE=" + bundle,
			"AWS_CONFIG_FILE=" + empty, "AWS_SHARED_CREDENTIALS_FILE=" + empty, "AWS_EC2_METADATA_DISABLED=true"}
	})

	start := func(stdin string, args ...string) *gexec.Session {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		// A machine under load (or -race) may take more than a second.
		Eventually(session, time.Minute).Should(gexec.Exit())
		return session
	}
	run := func(source string) *gexec.Session { return start(`{"source":`+source+`}`, bin) }
	const keys = `"aws_region":"eu-west-1","aws_access_key_id":"AKIDSOURCE","aws_secret_access_key":"source-secret-key","aws_session_token":"source-session"`

	It("prints the version, with no secret or token on stderr even in debug", func() {
		session := run(`{"repository":"team/app","tag":"3.0.0","debug":true,` + keys + `}`)
		Expect(session.ExitCode()).To(Equal(0), string(session.Err.Contents()))
		Expect(session.Out).To(gbytes.Say(`\[\{"tag":"3.0.0","digest":"` + digest + `"\}\]`))
		Expect(secretsIn(string(session.Err.Contents()), "source-secret-key", "source-session", ecr.password)).To(BeEmpty())
		calls, keys, problems := ecr.report()
		Expect(problems).To(BeEmpty())
		Expect(calls).To(Equal(1))
		Expect(keys).To(Equal([]string{"AKIDSOURCE"}))
	})

	It("fails with one line saying ECR refused the token, nothing on stdout", func() {
		ecr.failCode = "AccessDeniedException"
		session := run(`{"repository":"team/app",` + keys + `}`)
		Expect(session.ExitCode()).To(Equal(1))
		Expect(session.Out.Contents()).To(BeEmpty())
		Expect(string(session.Err.Contents())).To(Equal("error: get an ECR token in eu-west-1: AccessDeniedException: User is not authorized to perform ecr:GetAuthorizationToken\n"))
	})

	DescribeTable("refimage resolve pins the image on the ECR registry and makes a pull secret of the token, unless the nodes pull themselves",
		func(kubernetes string, wantSecret bool) {
			session := start(`{"type":"registry-image","source":{"repository":"team/app",`+keys+`},
				"version":{"tag":"3.0.0","digest":"`+digest+`"},"kubernetes":`+kubernetes+`}`, hook, "resolve")
			Expect(session.ExitCode()).To(Equal(0), string(session.Err.Contents()))
			var resp struct {
				Reference   string
				AuthExpires *time.Time `json:"auth_expires"`
				Kubernetes  struct {
					Secret *struct{ Data map[string][]byte }
				}
			}
			Expect(json.Unmarshal(session.Out.Contents(), &resp)).To(Succeed())
			Expect(resp.Reference).To(Equal(reg.Repo("team/app") + "@" + digest))
			Expect(secretsIn(string(session.Err.Contents()), "source-secret-key", "source-session", ecr.password)).To(BeEmpty())
			if !wantSecret {
				Expect(resp.Kubernetes.Secret).To(BeNil())
				Expect(resp.AuthExpires).To(BeNil())
				Expect(string(session.Err.Contents())).To(ContainSubstring("no pull secret for " + reg.Host))
				return
			}
			Expect(resp.AuthExpires).NotTo(BeNil())
			Expect(resp.AuthExpires.Equal(ecr.expires)).To(BeTrue())
			Expect(string(resp.Kubernetes.Secret.Data[".dockerconfigjson"])).To(ContainSubstring(`"password":"` + ecr.password + `"`))
			Expect(string(session.Err.Contents())).To(ContainSubstring("short-lived Amazon ECR token that expires at"))
		},
		Entry("a pull secret", `{}`, true),
		Entry("the nodes' own identity", `{"nodes_pull_from_ecr":true}`, false),
	)

	DescribeTable("rejects a source that cannot work with one line and no secret, before any request",
		func(source, want string) {
			session := run(source)
			Expect(session.ExitCode()).To(Equal(1))
			Expect(session.Out.Contents()).To(BeEmpty())
			Expect(string(session.Err.Contents())).To(HavePrefix("error: invalid source." + want))
			Expect(strings.Count(string(session.Err.Contents()), "\n")).To(Equal(1))
			Expect(secretsIn(string(session.Err.Contents()), "source-secret-key", "hunter2")).To(BeEmpty())
			calls, _, _ := ecr.report()
			Expect(calls).To(Equal(0))
		},
		Entry("missing aws_region", `{"repository":"team/app","aws_access_key_id":"AKID","aws_secret_access_key":"source-secret-key"}`, "aws_region: is required"),
		Entry("both role fields", `{"repository":"team/app",`+keys+`,"aws_role_arn":"arn:aws:iam::1:role/a","aws_role_arns":["arn:aws:iam::1:role/b"]}`, "aws_role_arn: cannot be set together with source.aws_role_arns"),
		Entry("username/password with azure_acr", `{"repository":"r.azurecr.io/app","azure_acr":true,"username":"u","password":"hunter2"}`, "azure_acr: cannot be used with source.username/password"),
	)
})
