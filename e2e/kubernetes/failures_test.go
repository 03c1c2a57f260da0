//go:build kubernetes

package kubernetes_test

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/refimage/refimage/hook"
)

// expectOneLine asserts err is one line naming the image and the cause,
// returned well within the driver's bound.
func expectOneLine(err error, started time.Time, image string, cause ...string) {
	ExpectWithOffset(1, err).To(HaveOccurred())
	GinkgoWriter.Printf("driver: %v (after %.1fs)\n", err, time.Since(started).Seconds())
	ExpectWithOffset(1, err.Error()).NotTo(ContainSubstring("\n"))
	ExpectWithOffset(1, err.Error()).To(ContainSubstring(image))
	for _, c := range cause {
		ExpectWithOffset(1, err.Error()).To(ContainSubstring(c))
	}
	ExpectWithOffset(1, time.Since(started)).To(BeNumerically("<", podTimeout))
}

// deleteManifest deletes digest from repo through the registry's API.
func deleteManifest(repo, digest string) {
	req, err := http.NewRequest(http.MethodDelete, "https://"+k8s.registry.repo("")+"v2/"+repo+"/manifests/"+digest, nil)
	Expect(err).NotTo(HaveOccurred())
	req.SetBasicAuth(teamA.name, teamA.password)
	resp, err := k8s.registry.client().Do(req)
	Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	Expect(resp.StatusCode).To(Equal(http.StatusAccepted))
}

// secretUsers are the usernames in a pull Secret's Docker config.
func secretUsers(ns, name string) []string {
	s, err := k8s.api.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	var cfg struct {
		Auths map[string]struct{ Username string } `json:"auths"`
	}
	Expect(json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg)).To(Succeed())
	var users []string
	for _, a := range cfg.Auths {
		users = append(users, a.Username)
	}
	return users
}

var _ = Describe("failures as users meet them, each a bounded wait and one line naming the image and the cause", func() {
	newHook := func(opts ...hook.Option) *runtime {
		h, err := hook.New(append(opts, hook.WithBaseType("registry-image", k8s.registry.repo(refimageRepo), hook.ImplRefimage))...)
		Expect(err).NotTo(HaveOccurred())
		return newRuntime(h, podNamespace)
	}

	It("a wrong password: the hook's check refuses it before any pod; trusting pinned digests, kubelet's pull says 401", func(ctx SpecContext) {
		digest := pushApp("team/locked:v1", "locked")
		wrong := registryUser{teamA.name, "not-the-password"}
		version := map[string]string{"tag": "v1", "digest": digest}

		_, _, err := newHook().get(ctx, baseGet("app", "team/locked", wrong, version))
		Expect(err).To(MatchError(ContainSubstring("401")))
		Expect(err.Error()).NotTo(ContainSubstring(wrong.password))

		rt := newHook(hook.TrustPinnedDigests())
		r, _, err := rt.get(ctx, baseGet("app", "team/locked", wrong, version))
		Expect(err).NotTo(HaveOccurred(), "a trusted pinned digest costs no request, so nothing checks the password")
		started := time.Now()
		_, err = rt.runTask(ctx, task{name: "wrong-password", image: r, args: []string{"show", "/etc"}})
		expectOneLine(err, started, r.Reference, "401 Unauthorized")
		Expect(err.Error()).To(MatchRegexp("ErrImagePull|ImagePullBackOff"))
		Expect(err.Error()).NotTo(ContainSubstring(wrong.password))
	})

	It("a digest deleted after the decision: kubelet's pull says it is not found, and the next decision says so before any pod", func(ctx SpecContext) {
		digest := pushApp("team/deleted:v1", "deleted")
		rt := newHook()
		get := baseGet("app", "team/deleted", teamA, map[string]string{"tag": "v1", "digest": digest})
		r, _, err := rt.get(ctx, get)
		Expect(err).NotTo(HaveOccurred())
		deleteManifest("team/deleted", digest)
		started := time.Now()
		_, err = rt.runTask(ctx, task{name: "deleted", image: r, args: []string{"show", "/etc"}})
		expectOneLine(err, started, r.Reference, "not found")

		By("the runtime told the hook (PullFailed): the next get proves the digest again and fails")
		pods := rt.pods
		_, _, err = rt.get(ctx, get)
		Expect(err).To(HaveOccurred())
		GinkgoWriter.Printf("the next get: %v\n", err)
		Expect(err.Error()).To(ContainSubstring(digest))
		Expect(rt.pods).To(Equal(pods))
	})

	It("two pipelines with different credentials for one registry: two Secrets, each pod pulls with its own", func(ctx SpecContext) {
		digest := pushApp("team/shared:v1", "shared")
		version := map[string]string{"tag": "v1", "digest": digest}
		mark := k8s.registry.mark()
		var secrets []string
		for _, p := range []struct {
			user registryUser
			ns   string
		}{{teamA, podNamespace}, {teamB, podNamespace}} {
			rt := newHook()
			r, _, err := rt.get(ctx, baseGet("app", "team/shared", p.user, version))
			Expect(err).NotTo(HaveOccurred())
			run, err := rt.runTask(ctx, task{name: p.user.name, image: r, args: []string{"show", "/etc"}})
			Expect(err).NotTo(HaveOccurred())
			Expect(run.imageID()).To(HaveSuffix("@" + digest))
			Expect(run.pod.Spec.ImagePullSecrets).To(HaveLen(1))
			name := run.pod.Spec.ImagePullSecrets[0].Name
			Expect(secretUsers(p.ns, name)).To(Equal([]string{p.user.name}), "the Secret holds this pipeline's account only")
			secrets = append(secrets, name)
		}
		Expect(secrets[0]).NotTo(Equal(secrets[1]))
		users := k8s.registry.served(mark).Users
		GinkgoWriter.Printf("registry requests by account: %v\n", users)
		Expect(users).To(HaveKey(teamA.name))
		Expect(users).To(HaveKey(teamB.name), "the second pod's pull used its own credentials, although the image was on the node")
	})

	It("a pod with no Secret on a node that already pulled the private image: kubelet re-checks, the registry says 401", func(ctx SpecContext) {
		digest := pushApp("team/cached:v1", "cached")
		rt := newHook()
		r, _, err := rt.get(ctx, baseGet("app", "team/cached", teamA, map[string]string{"tag": "v1", "digest": digest}))
		Expect(err).NotTo(HaveOccurred())
		_, err = rt.runTask(ctx, task{name: "with-secret", image: r, args: []string{"show", "/etc"}})
		Expect(err).NotTo(HaveOccurred(), "the image is on the node now")
		started := time.Now()
		_, err = rt.runTask(ctx, task{name: "no-secret", image: r, noSecret: true, args: []string{"show", "/etc"}})
		expectOneLine(err, started, r.Reference, "401 Unauthorized")
	})
})
