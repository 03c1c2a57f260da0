package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("refimage explain --labels (ggcr's in-process registry)", func() {
	var file, labelled, unlabelled string

	BeforeEach(func() {
		host := startRegistry()
		labelled = pushLabelled(host+"/refimage:1", map[string]string{"io.github.refimage.produces": "registry-image"})
		unlabelled = pushLabelled(host+"/notifier:1", map[string]string{"org.opencontainers.image.title": "notifier"})
		file = filepath.Join(GinkgoT().TempDir(), "pipeline.yml")
		Expect(os.WriteFile(file, []byte(fmt.Sprintf(`resource_types:
- name: refimage
  type: registry-image
  source: {repository: %[1]s/refimage, tag: "1"}
- name: notifier
  type: registry-image
  source: {repository: %[1]s/notifier, tag: "1"}
resources:
- name: app
  type: refimage
  source: {repository: registry.example.test/app}
- name: chat
  type: notifier
  source: {url: https://chat.example.test}
jobs:
- name: a
  plan:
  - get: app
  - get: chat
`, host)), 0o644)).To(Succeed())
	})

	rows := func(args ...string) map[string][2]string {
		s := explain(append(args, "--json", file)...)
		Expect(s.ExitCode()).To(Equal(0), string(s.Err.Contents()))
		var got []struct{ Get, Decision, Reason string }
		Expect(json.Unmarshal(s.Out.Contents(), &got)).To(Succeed())
		out := map[string][2]string{}
		for _, r := range got {
			out[r.Get] = [2]string{r.Decision, r.Reason}
		}
		return out
	}

	It("looks each type image's labels up: the image with refimage's label skips its pod, the one without runs a pod", func() {
		got := rows("--labels")
		Expect(got["app"][0]).To(Equal("skip pod"), got["app"][1])
		Expect(got["app"][1]).To(And(ContainSubstring(labelled), ContainSubstring("carries the label io.github.refimage.produces=registry-image")))
		Expect(got["chat"][0]).To(Equal("pod"), got["chat"][1])
		Expect(got["chat"][1]).To(And(ContainSubstring(unlabelled), ContainSubstring("no label io.github.refimage.produces=registry-image")))
	})

	It("without --labels, makes no request and says that only the label decides", func() {
		byLabel := func(t string) [2]string {
			return [2]string{"by label", "skip pod if the image of resource_types[" + t + "] carries the label io.github.refimage.produces=registry-image (refimage's image does), else pod; labels are not looked up without --labels"}
		}
		Expect(rows()).To(Equal(map[string][2]string{"app": byLabel("refimage"), "chat": byLabel("notifier")}))
	})

	It("without --labels, says by label for a type whose source still holds ((vars)) too", func() {
		Expect(os.WriteFile(file, []byte(`resource_types:
- name: refimage
  type: registry-image
  source: {repository: ((refimage-repository)), tag: "1", username: ((user))}
resources:
- name: app
  type: refimage
  source: {repository: ((app-repository))}
jobs:
- name: a
  plan:
  - get: app
`), 0o644)).To(Succeed())
		Expect(rows()).To(HaveKeyWithValue("app", HaveExactElements("by label", ContainSubstring("labels are not looked up without --labels"))))
	})
})
