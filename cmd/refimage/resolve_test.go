package main_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
)

func resolve(request string) *gexec.Session {
	cmd := exec.Command(refimagePath, "resolve")
	cmd.Stdin = strings.NewReader(request)
	s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	Eventually(s).Should(gexec.Exit())
	return s
}

type resolveOutput struct {
	Decision struct {
		Skip        bool
		Eligible    bool
		Rule        string
		In          string
		Reason      string
		StripSource []string `json:"strip_source"`
	}
	Version    map[string]string
	Files      map[string]string
	Metadata   []map[string]string
	Reference  string
	ImageURL   string `json:"image_url"`
	Warnings   []string
	Kubernetes *struct {
		Image           string
		ImagePullPolicy string `json:"image_pull_policy"`
		Secret          *corev1.Secret
		ConfigMap       *corev1.ConfigMap   `json:"config_map"`
		Volume          *corev1.Volume      `json:"volume"`
		VolumeMount     *corev1.VolumeMount `json:"volume_mount"`
	}
}

var _ = Describe("refimage resolve", func() {
	It("reads a get plan and prints the decision, in's files and metadata, the reference and the Kubernetes objects", func() {
		host := startRegistry()
		digest := push(host + "/team/app:1.2")
		s := resolve(`{
			"name": "app-image", "type": "refimage", "resource": "app-image",
			"image": {"base_type": "registry-image", "get_plan": {"id": "1/image-get", "get": {"name": "refimage", "type": "registry-image",
				"source": {"repository": "registry.example.test/refimage"}, "skip_download": true, "image": {"base_type": "registry-image"}}}},
			"source": {"repository": "` + host + `/team/app", "username": "robot", "password": "hunter2-secret"},
			"params": {"fetch_artifact": false},
			"version": {"tag": "1.2", "digest": "` + digest + `"},
			"runtime": {"image_types": [{"repository": "registry.example.test/refimage", "in": "refimage"}]},
			"kubernetes": {"namespace": "ci", "input_path": "/tmp/build/1/app-image", "labels": {"build": "7"}}
		}`)
		Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
		Expect(string(s.Err.Contents())).NotTo(ContainSubstring("hunter2-secret"))
		var out resolveOutput
		Expect(json.Unmarshal(s.Out.Contents(), &out)).To(Succeed())
		Expect(out.Decision.Skip).To(BeTrue())
		Expect(out.Decision.Rule).To(Equal("image-list"))
		Expect(out.Decision.In).To(Equal("refimage"))
		Expect(out.Decision.Reason).To(Equal("no pod: the image of resource_types[refimage] (registry.example.test/refimage) is on the runtime's list of image types and params.fetch_artifact is false"))
		Expect(out.Version).To(Equal(map[string]string{"tag": "1.2", "digest": digest}))
		Expect(out.Files).To(Equal(map[string]string{"repository": host + "/team/app", "tag": "1.2", "digest": digest}))
		Expect(out.Metadata).To(Equal([]map[string]string{{"name": "repository", "value": host + "/team/app"}, {"name": "tag", "value": "1.2"}}))
		Expect(out.Reference).To(Equal(host + "/team/app@" + digest))
		Expect(out.ImageURL).To(Equal("docker:///" + host + "/team/app@" + digest))
		k := out.Kubernetes
		Expect(k.Image).To(Equal(out.Reference))
		Expect(k.ImagePullPolicy).To(Equal("IfNotPresent"))
		Expect(k.Secret.Type).To(Equal(corev1.SecretTypeDockerConfigJson))
		Expect(k.Secret.Namespace).To(Equal("ci"))
		Expect(k.Secret.Labels).To(HaveKeyWithValue("build", "7"))
		Expect(string(k.Secret.Data[corev1.DockerConfigJsonKey])).To(ContainSubstring(`"` + host + `":{"username":"robot"`))
		Expect(k.ConfigMap.Data).To(Equal(out.Files))
		Expect(k.Volume.ConfigMap.Name).To(Equal(k.ConfigMap.Name))
		Expect(k.VolumeMount.MountPath).To(Equal("/tmp/build/1/app-image"))
	})

	It("salts the pull Secret's name with kubernetes.name_salt: one name per installation, the same on every call", func() {
		host := startRegistry()
		digest := push(host + "/team/app:1.2")
		secretName := func(salt string) string {
			s := resolve(`{"type": "registry-image", "image": {"base_type": "registry-image"}, "params": {"skip_download": true},
				"source": {"repository": "` + host + `/team/app", "username": "robot", "password": "hunter2-secret"},
				"version": {"tag": "1.2", "digest": "` + digest + `"}, "runtime": {"trust_pinned_digests": true},
				"kubernetes": {"namespace": "ci", "name_salt": "` + salt + `"}}`)
			Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
			var out resolveOutput
			Expect(json.Unmarshal(s.Out.Contents(), &out)).To(Succeed())
			return out.Kubernetes.Secret.Name
		}
		a := secretName("3f0c6a7e-uid-a")
		Expect(a).To(MatchRegexp(`^refimage-pull-[0-9a-f]{20}$`))
		Expect(secretName("9d41b2c8-uid-b")).NotTo(Equal(a))
		Expect(secretName("3f0c6a7e-uid-a")).To(Equal(a))
	})

	It("resolves the get of a custom type's image, which is a get plan too", func() {
		host := startRegistry()
		digest := push(host + "/types/slack:1")
		s := resolve(`{"name": "slack", "type": "registry-image", "skip_download": true, "image": {"base_type": "registry-image"},
			"source": {"repository": "` + host + `/types/slack"}, "version": {"tag": "1", "digest": "` + digest + `"},
			"runtime": {"trust_pinned_digests": true}}`)
		Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
		var out resolveOutput
		Expect(json.Unmarshal(s.Out.Contents(), &out)).To(Succeed())
		Expect(out.Decision.Reason).To(Equal("no pod: registry-image is a base type that produces images and the step's skip_download is true"))
		Expect(out.Reference).To(Equal(host + "/types/slack@" + digest))
		Expect(out.Kubernetes.Secret).To(BeNil())
	})

	It("shows labels.json and metadata.json in the ConfigMap's data with fetch_metadata: true", func() {
		host := startRegistry()
		digest := push(host + "/team/app:1.2")
		s := resolve(`{"name": "app-image", "type": "registry-image", "image": {"base_type": "registry-image"},
			"source": {"repository": "` + host + `/team/app"}, "params": {"fetch_metadata": true},
			"version": {"tag": "1.2", "digest": "` + digest + `"}, "kubernetes": {"input_path": "/tmp/build/1/app-image"}}`)
		Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
		var out resolveOutput
		Expect(json.Unmarshal(s.Out.Contents(), &out)).To(Succeed())
		Expect(out.Kubernetes.ConfigMap.Data).To(HaveKey("labels.json"))
		Expect(out.Kubernetes.ConfigMap.Data).To(HaveKey("metadata.json"))
		Expect(out.Kubernetes.ConfigMap.Data["metadata.json"]).To(HavePrefix(`{"cmd":`))
		Expect(out.Kubernetes.ConfigMap.Data).To(Equal(out.Files))
		Expect(out.Kubernetes.Volume.ConfigMap.Items).To(HaveLen(5))
	})

	It("prints only the decision for a step that needs a pod, and never fails it", func() {
		s := resolve(`{"type": "s3", "image": {"base_type": "s3"}, "source": {"bucket": "b", "regexp": "x-(.*).tgz"},
			"params": {"skip_download": true}, "version": {"path": "x-1.tgz"}}`)
		Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
		Expect(bytes.TrimSpace(s.Out.Contents())).To(MatchJSON(`{"decision": {"skip": false, "eligible": false, "reason": "run a pod: s3 is a base type that produces no image"}}`))

		s = resolve(`{"type": "registry-image", "image": {"base_type": "registry-image"}, "source": {"repository": "r.example.test/app", "fetch_artifact": true},
			"params": {"format": "oci"}, "runtime": {"policy": "skip-on-request"}}`)
		Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
		var out resolveOutput
		Expect(json.Unmarshal(s.Out.Contents(), &out)).To(Succeed())
		Expect(out.Decision.Reason).To(ContainSubstring(`run a pod: params.format is "oci"`))
		Expect(out.Decision.StripSource).To(Equal([]string{"fetch_artifact"}))
	})

	It("prints no part of a credential that holds ((, on stderr or on stdout outside the Secret's data", func() {
		host := startRegistry()
		digest := push(host + "/team/app:1")
		s := resolve(`{"type": "registry-image", "image": {"base_type": "registry-image"},
			"source": {"repository": "` + host + `/team/app", "username": "robot", "Password": "s3cr((et))pw",
				"content_trust": {"server": "https://notary.example.test", "repository_key_id": "k", "repository_key": "k3y((et))",
					"repository_passphrase": "pa((et))ss"}},
			"version": {"tag": "1", "digest": "` + digest + `"}, "kubernetes": {"namespace": "ci", "input_path": "/tmp/build/app"}}`)
		Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
		Expect(string(s.Err.Contents())).NotTo(ContainSubstring("((et))"))
		var out map[string]any
		Expect(json.Unmarshal(s.Out.Contents(), &out)).To(Succeed())
		secret := out["kubernetes"].(map[string]any)["secret"].(map[string]any)
		data := secret["data"].(map[string]any)[corev1.DockerConfigJsonKey].(string)
		delete(secret, "data")
		rest, err := json.Marshal(out)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(rest)).NotTo(ContainSubstring("((et))"))
		Expect(string(rest)).NotTo(ContainSubstring("s3cr"))
		config, err := base64.StdEncoding.DecodeString(data)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(config)).To(ContainSubstring(`"password":"s3cr((et))pw"`))
	})

	DescribeTable("bad requests: one line on stderr, nothing on stdout, no credentials",
		func(request, wantErr string) {
			s := resolve(request)
			Expect(s.ExitCode()).To(Equal(1))
			Expect(s.Out.Contents()).To(BeEmpty())
			errText := string(s.Err.Contents())
			Expect(strings.Count(strings.TrimSpace(errText), "\n")).To(Equal(0), errText)
			Expect(errText).To(ContainSubstring(wantErr))
			Expect(errText).NotTo(ContainSubstring("hunter2-secret"))
		},
		Entry("not JSON", `{"type":`, "truncated JSON"),
		Entry("an unknown field", `{"type": "registry-image", "sauce": {}}`, `unknown field "sauce"`),
		Entry("an unknown field in the image", `{"type": "registry-image", "image": {"base_typ": "registry-image"}}`, `unknown field "base_typ"`),
		Entry("a leftover var", `{"type": "registry-image", "image": {"base_type": "registry-image"}, "source": {"repository": "r.example.test/app", "username": "((user))", "password": "hunter2-secret"}, "version": {"tag": "1"}}`,
			"read source.username: ((user)) is unevaluated ((var))"),
		Entry("fetch_artifact as a string", `{"type": "registry-image", "image": {"base_type": "registry-image"}, "source": {"repository": "r.example.test/app"}, "params": {"fetch_artifact": "false"}, "version": {"tag": "1"}}`,
			"fetch_artifact must be true or false"),
		Entry("fetch_artifact false with a format", `{"type": "registry-image", "image": {"base_type": "registry-image"}, "source": {"repository": "r.example.test/app"}, "params": {"fetch_artifact": false, "format": "rootfs"}}`,
			"drop format to get the reference, or drop fetch_artifact to download the image"),
		Entry("no version", `{"type": "registry-image", "image": {"base_type": "registry-image"}, "source": {"repository": "127.0.0.1:1/app", "password": "hunter2-secret"}, "version": {}}`,
			"the version has neither digest nor tag"),
		Entry("a policy it does not know", `{"type": "registry-image", "runtime": {"policy": "sometimes"}}`, `read runtime.policy: "sometimes" is neither`),
		Entry("an implementation it does not know", `{"type": "registry-image", "runtime": {"base_types": [{"name": "registry-image", "image": "x/y", "in": "docker"}]}}`,
			`implementation "docker" is neither "refimage" (hook.ImplRefimage) nor "registry-image" (hook.ImplRegistryImage)`),
		Entry("an empty image type", `{"type": "registry-image", "runtime": {"image_types": [{"repository": "", "in": "refimage"}]}}`,
			`list image type "": the repository is empty`),
		Entry("two bad runtime settings: both, as a list on one line", `{"type": "registry-image", "runtime": {"base_types": [{"name": "", "in": "docker"}]}}`,
			`declare base type "": implementation "docker" is neither "refimage" (hook.ImplRefimage) nor "registry-image" (hook.ImplRegistryImage); the name is empty`),
		Entry("null", `null`, "read type: it is required"),
		Entry("an empty object", `{}`, "read type: it is required"),
		Entry("a namespace the API server refuses", `{"type": "registry-image", "kubernetes": {"namespace": "Team A"}}`,
			`read kubernetes.namespace: "Team A" is not a namespace name`),
		Entry("a label key the API server refuses", `{"type": "registry-image", "kubernetes": {"labels": {"build id": "7"}}}`,
			`read kubernetes.labels: "build id" is not a label key`),
		Entry("a label value the API server refuses", `{"type": "registry-image", "kubernetes": {"labels": {"build": "7/1"}}}`,
			`read kubernetes.labels.build: "7/1" is not a label value`),
		Entry("a relative input path", `{"type": "registry-image", "kubernetes": {"input_path": "app-image"}}`,
			`read kubernetes.input_path: "app-image" is not absolute`),
		Entry("a registry that is down", `{"type": "registry-image", "image": {"base_type": "registry-image"}, "source": {"repository": "127.0.0.1:1/app", "username": "u", "password": "hunter2-secret"}, "version": {"tag": "1", "digest": "sha256:`+strings.Repeat("0", 64)+`"}}`,
			"127.0.0.1:1"),
	)

	It("rejects arguments", func() {
		s, err := gexec.Start(exec.Command(refimagePath, "resolve", "x"), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(s).Should(gexec.Exit(2))
		Expect(string(s.Err.Contents())).To(ContainSubstring("takes no arguments"))
	})
})
