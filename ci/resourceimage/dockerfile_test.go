package resourceimage_test

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/ci/resourceimage"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
}

type stage struct {
	name, from string
	body       []instruction
}

// parseDockerfile splits a Dockerfile into stages. It knows what this
// repository's Dockerfile uses: comments, backslash continuations, FROM
// with --platform and AS.
func parseDockerfile(text string) []stage {
	var stages []stage
	var logical string
	flush := func() {
		line := strings.TrimSpace(logical)
		logical = ""
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			var s stage
			for i := 0; i < len(f); i++ {
				switch {
				case strings.HasPrefix(f[i], "--"):
				case strings.EqualFold(f[i], "AS") && i+1 < len(f):
					s.name = f[i+1]
					i++
				default:
					s.from = f[i]
				}
			}
			stages = append(stages, s)
			return
		}
		if len(stages) > 0 {
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "#") {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			logical += strings.TrimSuffix(t, "\\") + " "
			continue
		}
		logical += t
		flush()
	}
	flush()
	return stages
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// keyValues parses LABEL and ENV arguments: key=value pairs, values
// optionally double-quoted, without spaces.
func keyValues(args []string) map[string]string {
	kv := map[string]string{}
	for _, a := range args {
		for _, f := range strings.Fields(a) {
			k, v, ok := strings.Cut(f, "=")
			Expect(ok).To(BeTrue(), "not key=value: %s", f)
			kv[k] = strings.Trim(v, `"`)
		}
	}
	return kv
}

var _ = Describe("the Dockerfile", func() {
	var build, final stage

	BeforeEach(func() {
		b, err := os.ReadFile(filepath.Join(moduleDir, "Dockerfile"))
		Expect(err).NotTo(HaveOccurred())
		stages := parseDockerfile(string(b))
		Expect(stages).To(HaveLen(2), "a Go build stage, then the final stage")
		build, final = stages[0], stages[1]
		Expect(build.name).NotTo(BeEmpty())
	})

	It("ends in a stage from scratch that holds only what the build stage made", func() {
		Expect(final.from).To(Equal("scratch"))
		Expect(final.all("RUN")).To(BeEmpty())
		Expect(final.all("ADD")).To(BeEmpty())
		for _, c := range final.all("COPY") {
			Expect(c).To(HavePrefix("--from="+build.name+" "), c)
		}
	})

	It("builds every binary with the flags, environment and version stamp of make image", func() {
		var goBuild string
		for _, r := range build.all("RUN") {
			if strings.Contains(r, "go build") {
				Expect(goBuild).To(BeEmpty(), "one go build")
				goBuild = r
			}
		}
		Expect(goBuild).NotTo(BeEmpty())
		words := strings.Fields(goBuild)
		for _, env := range resourceimage.BuildEnv {
			Expect(words).To(ContainElement(env))
		}
		Expect(words).To(ContainElements("GOOS=$TARGETOS", "GOARCH=$TARGETARCH", "GOFLAGS="))
		for _, f := range resourceimage.BuildFlags {
			Expect(words).To(ContainElement(f))
		}
		Expect(goBuild).To(ContainSubstring(`-ldflags "` + resourceimage.LDFlags("${VERSION}") + `"`))
		Expect(goBuild).To(ContainSubstring("-o /out/ "))
		for _, b := range resourceimage.Binaries {
			Expect(words).To(ContainElement("./cmd/"+b.Name), b.Name)
		}
	})

	It("copies each binary to the path make image puts it, and nothing else but the static files", func() {
		want := []string{"--from=" + build.name + " /rootfs/ /"}
		for _, b := range resourceimage.Binaries {
			want = append(want, "--from="+build.name+" /out/"+b.Name+" "+b.Path)
		}
		Expect(final.all("COPY")).To(ConsistOf(want))
		Expect(build.all("RUN")).To(ContainElement("go run -modfile=" + resourceimage.ShipModFile + " ./ci/imagebuild -static-files /rootfs"))
	})

	It("sets the label and the environment make image sets", func() {
		Expect(keyValues(final.all("LABEL"))).To(Equal(resourceimage.Labels()))
		var env []string
		for k, v := range keyValues(final.all("ENV")) {
			env = append(env, k+"="+v)
		}
		Expect(env).To(ConsistOf(resourceimage.Env))
	})
})
