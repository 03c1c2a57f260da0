package resource_test

import (
	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/resource"
)

// These are registry-image's readings (go-containerregistry v0.22, and
// v0.21.9 for localhost): they must hold on the library set (v0.21.2) too.
var _ = Describe("repository names, read as registry-image reads them", func() {
	DescribeTable("NewRepository",
		func(in, registry, path string) {
			repo, err := resource.NewRepository(in)
			Expect(err).NotTo(HaveOccurred())
			Expect(repo.RegistryStr()).To(Equal(registry))
			Expect(repo.RepositoryStr()).To(Equal(path))
		},
		Entry("a one-character path on a host", "registry.example.com/a", "registry.example.com", "a"),
		Entry("a one-character path on host:port", "127.0.0.1:5000/a", "127.0.0.1:5000", "a"),
		Entry("a one-character official image", "a", name.DefaultRegistry, "library/a"),
		Entry("localhost with no port is a registry", "localhost/app", "localhost", "app"),
		Entry("localhost with a nested path", "localhost/team/app", "localhost", "team/app"),
		Entry("localhost with a port", "localhost:5000/app", "localhost:5000", "app"),
		Entry("a host and a path (ggcr's own reading)", "registry.example.com/team/app", "registry.example.com", "team/app"),
		Entry("no host: Docker Hub", "team/app", name.DefaultRegistry, "team/app"),
		Entry("a first element with no dot is a path", "host/a", name.DefaultRegistry, "host/a"),
	)

	DescribeTable("refuses what registry-image refuses, in ggcr's words",
		func(in, want string) {
			_, err := resource.NewRepository(in)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("capitals on localhost", "localhost/App", "repository can only contain the characters"),
		Entry("an empty path on localhost", "localhost/", "repository must be between 1 and 255 characters"),
		Entry("a one-character path with a capital", "registry.example.com/A", "repository can only contain the characters"),
		Entry("nothing", "", "a repository name must be specified"),
	)

	DescribeTable("ParseReference",
		func(in, want string, digest bool) {
			ref, err := resource.ParseReference(in)
			Expect(err).NotTo(HaveOccurred())
			Expect(ref.Name()).To(Equal(want))
			_, isDigest := ref.(name.Digest)
			Expect(isDigest).To(Equal(digest))
		},
		Entry("localhost, a tag", "localhost/app:1.0", "localhost/app:1.0", false),
		Entry("localhost, no tag", "localhost/app", "localhost/app:latest", false),
		Entry("a one-character path, a digest", "registry.example.com/a@sha256:"+hex64, "registry.example.com/a@sha256:"+hex64, true),
		Entry("a one-character path, a tag and a digest", "registry.example.com/a:1@sha256:"+hex64, "registry.example.com/a@sha256:"+hex64, true),
		Entry("ggcr's own reading otherwise", "ghcr.io/team/app:2", "ghcr.io/team/app:2", false),
	)

	It("refuses a bad tag on a name only refimage reads", func() {
		_, err := resource.ParseReference("localhost/app:bad tag")
		Expect(err).To(MatchError(ContainSubstring("could not parse reference: localhost/app:bad tag")))
	})
})

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
