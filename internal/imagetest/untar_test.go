package imagetest_test

import (
	"bytes"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/imagetest"
)

var _ = Describe("Untar", func() {
	It("writes directories and regular files with their modes, parents included, and nothing else", func() {
		stream, err := imagetest.TarBytes(imagetest.Dir("d"), imagetest.File("d/f", "content").WithMode(0o640),
			imagetest.File("p/q/g", "below unlisted parents"), imagetest.Symlink("l", "d/f"))
		Expect(err).NotTo(HaveOccurred())
		dir := GinkgoT().TempDir()
		Expect(imagetest.Untar(bytes.NewReader(stream), dir)).To(Succeed())

		Expect(os.ReadFile(filepath.Join(dir, "d/f"))).To(Equal([]byte("content")))
		fi, err := os.Stat(filepath.Join(dir, "d/f"))
		Expect(err).NotTo(HaveOccurred())
		Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o640)))
		Expect(os.ReadFile(filepath.Join(dir, "p/q/g"))).To(Equal([]byte("below unlisted parents")))
		Expect(filepath.Join(dir, "l")).NotTo(BeAnExistingFile())
	})

	It("fails a stream cut inside a file's content, naming the entry", func() {
		stream, err := imagetest.TarBytes(imagetest.File("f", string(make([]byte, 5000))))
		Expect(err).NotTo(HaveOccurred())
		err = imagetest.Untar(bytes.NewReader(stream[:2048]), GinkgoT().TempDir())
		Expect(err).To(MatchError(ContainSubstring("f: unexpected EOF")))
	})
})
