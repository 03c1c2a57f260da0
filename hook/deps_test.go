package hook_test

import (
	"os/exec"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// deps lists the packages pkg links, test files excluded.
func deps(pkg string) []string {
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	Expect(err).NotTo(HaveOccurred())
	return strings.Fields(string(out))
}

var _ = Describe("Import directions (DESIGN.md)", func() {
	DescribeTable("a package links none of what it must not",
		func(pkg string, forbidden []string) {
			for _, d := range deps(pkg) {
				for _, f := range forbidden {
					Expect(d == f || strings.HasPrefix(d, f+"/")).To(BeFalse(), "%s links %s", pkg, d)
				}
			}
		},
		Entry("hook: no in, no Kubernetes, no layer extraction or progress bars (zstd comes with ggcr itself)", "github.com/refimage/refimage/hook",
			[]string{"github.com/refimage/refimage/in", "github.com/refimage/refimage/out", "k8s.io", "sigs.k8s.io",
				"github.com/vbauerster/mpb/v8", "github.com/concourse/go-archive",
				// verification is standard library: no signing, no key decryption, no sigstore
				"github.com/refimage/refimage/signature/sign", "golang.org/x/crypto/scrypt", "github.com/sigstore"}),
		Entry("hook/kube: core types, never a client", "github.com/refimage/refimage/hook/kube",
			[]string{"k8s.io/client-go", "github.com/refimage/refimage/in"}),
		Entry("cmd/refimage: never a client", "github.com/refimage/refimage/cmd/refimage",
			[]string{"k8s.io/client-go", "github.com/refimage/refimage/in"}),
	)
})
