package kube_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/refimage/refimage/hook"
	"github.com/refimage/refimage/hook/kube"
	"github.com/refimage/refimage/resource"
)

var digest = "sha256:" + strings.Repeat("cd", 32)

func resolution(registry string, auth *resource.Credentials) *hook.Resolution {
	ref := registry + "/team/app@" + digest
	identity := ""
	if auth != nil {
		identity = auth.Username
	}
	return &hook.Resolution{
		AuthIdentity: identity,
		Version:      resource.Version{Tag: "1.2", Digest: digest},
		Files:        []resource.File{{Name: "repository", Data: []byte(registry + "/team/app")}, {Name: "tag", Data: []byte("1.2")}, {Name: "digest", Data: []byte(digest)}},
		Reference:    ref, ImageURL: "docker:///" + ref, Registry: registry, Auth: auth,
	}
}

var _ = Describe("TaskImage", func() {
	It("is the pinned reference with IfNotPresent", func() {
		image, policy := kube.TaskImage(resolution("registry.example.test", nil))
		Expect(image).To(Equal("registry.example.test/team/app@" + digest))
		Expect(policy).To(Equal(corev1.PullIfNotPresent))
	})
	It("never uses IfNotPresent for a mutable reference", func() {
		_, policy := kube.TaskImage(&hook.Resolution{Reference: "registry.example.test/team/app:latest"})
		Expect(policy).To(Equal(corev1.PullAlways))
	})
})

var _ = Describe("PullSecret", func() {
	creds := &resource.Credentials{Username: "robot", Password: "s3cret"}

	It("is nil for an anonymous pull", func() {
		s, err := kube.PullSecret(resolution("registry.example.test", nil))
		Expect(err).NotTo(HaveOccurred())
		Expect(s).To(BeNil())
	})

	DescribeTable("is a dockerconfigjson Secret for the registry used",
		func(registry, key string) {
			s, err := kube.PullSecret(resolution(registry, creds), kube.WithNamespace("ci"), kube.WithLabels(map[string]string{"concourse-ci.org/build": "42"}))
			Expect(err).NotTo(HaveOccurred())
			Expect(s.Type).To(Equal(corev1.SecretTypeDockerConfigJson))
			Expect(s.Namespace).To(Equal("ci"))
			Expect(s.Name).To(MatchRegexp(`^refimage-pull-[0-9a-f]{20}$`))
			Expect(s.Labels).To(Equal(map[string]string{"app.kubernetes.io/managed-by": "refimage",
				"app.kubernetes.io/component": "pull-secret", "concourse-ci.org/build": "42"}))
			var config struct {
				Auths map[string]struct{ Username, Password, Auth string }
			}
			Expect(json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &config)).To(Succeed())
			Expect(config.Auths).To(HaveLen(1))
			Expect(config.Auths).To(HaveKey(key))
			Expect(config.Auths[key].Username).To(Equal("robot"))
			Expect(config.Auths[key].Password).To(Equal("s3cret"))
			Expect(config.Auths[key].Auth).To(Equal(base64.StdEncoding.EncodeToString([]byte("robot:s3cret"))))
		},
		Entry("a private registry", "registry.example.test:5000", "registry.example.test:5000"),
		Entry("Docker Hub", "index.docker.io", "https://index.docker.io/v1/"),
	)

	It("is named after the whole credential set: two accounts with one username never share a Secret", func() {
		name := func(registry, user, pass string) string {
			s, err := kube.PullSecret(resolution(registry, &resource.Credentials{Username: user, Password: pass}))
			Expect(err).NotTo(HaveOccurred())
			Expect(s.Name).To(MatchRegexp(`^refimage-pull-[0-9a-f]{20}$`))
			if len(pass) > 3 {
				Expect(s.Name + fmt.Sprint(s.Labels, s.Annotations)).NotTo(ContainSubstring(pass))
			}
			return s.Name
		}
		Expect(name("ghcr.io", "_json_key", "key-of-account-a")).NotTo(Equal(name("ghcr.io", "_json_key", "key-of-account-b")))
		Expect(name("gcr.io", "oauth2accesstoken", "p")).NotTo(Equal(name("gcr.io", "gitlab-ci-token", "p")))
		Expect(name("a.test", "u", "p")).NotTo(Equal(name("b.test", "u", "p")))
		Expect(name("a.test", "u", "p")).To(Equal(name("a.test", "u", "p")), "stable across builds")
	})

	It("gives two cloud identities on one registry two secrets, though every ECR token's user is AWS, and keeps one identity's name across refreshes", func() {
		ecr := "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
		expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		token := func(identity, password string) *corev1.Secret {
			r := resolution(ecr, &resource.Credentials{Username: "AWS", Password: password})
			r.AuthIdentity, r.AuthExpires = identity, &expires
			s, err := kube.PullSecret(r)
			Expect(err).NotTo(HaveOccurred())
			return s
		}
		a, b := token("Amazon ECR|AKIA1|||", "t1"), token("Amazon ECR|AKIA2|||", "t1")
		Expect(a.Name).NotTo(Equal(b.Name))
		Expect(token("Amazon ECR|AKIA1|||", "t2").Name).To(Equal(a.Name), "a refreshed token updates the same Secret")
		Expect(a.Annotations).To(Equal(map[string]string{kube.AnnotationExpires: "2030-01-02T03:04:05Z"}))
	})

	It("refuses a Resolution that needs credentials and lost them in a JSON round trip, rather than pull anonymously", func() {
		r := resolution("registry.example.test", &resource.Credentials{Username: "robot", Password: "s3cret"})
		r.AuthRequired = true
		b, err := json.Marshal(r)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(b)).NotTo(ContainSubstring("s3cret"))
		var back hook.Resolution
		Expect(json.Unmarshal(b, &back)).To(Succeed())
		Expect(back.Files).To(Equal(r.Files), "the files survive")
		Expect(back.AuthIdentity).To(Equal("robot"))
		_, err = kube.PullSecret(&back)
		Expect(err).To(MatchError(ContainSubstring("the resolution needs credentials (for robot) but carries none, as after a JSON round trip")))
		_, err = kube.DockerConfig(&back)
		Expect(err).To(HaveOccurred())
	})
})

var _ = Describe("InputFiles", func() {
	It("puts repository, tag and digest at the task's input path", func() {
		cm, vol, mount := kube.InputFiles(resolution("registry.example.test", nil), kube.Input{MountPath: "/tmp/build/x/app-image"}, kube.WithNamespace("ci"))
		Expect(cm.Data).To(Equal(map[string]string{"repository": "registry.example.test/team/app", "tag": "1.2", "digest": digest}))
		Expect(cm.Namespace).To(Equal("ci"))
		Expect(cm.Labels).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "refimage"))
		Expect(vol.ConfigMap.Name).To(Equal(cm.Name))
		Expect(vol.ConfigMap.Items).To(ConsistOf(
			corev1.KeyToPath{Key: "repository", Path: "repository"},
			corev1.KeyToPath{Key: "tag", Path: "tag"},
			corev1.KeyToPath{Key: "digest", Path: "digest"}))
		Expect(mount).To(Equal(corev1.VolumeMount{Name: vol.Name, MountPath: "/tmp/build/x/app-image", ReadOnly: true}))
	})
	It("names the ConfigMap after its contents", func() {
		a, _, _ := kube.InputFiles(resolution("a.test", nil), kube.Input{MountPath: "/x"})
		b, _, _ := kube.InputFiles(resolution("a.test", nil), kube.Input{MountPath: "/y"})
		c, _, _ := kube.InputFiles(resolution("c.test", nil), kube.Input{MountPath: "/x"})
		Expect(a.Name).To(Equal(b.Name))
		Expect(a.Name).NotTo(Equal(c.Name))
		_, vol, _ := kube.InputFiles(resolution("a.test", nil), kube.Input{MountPath: "/x", VolumeName: "app-image"})
		Expect(vol.Name).To(Equal("app-image"))
	})
})
