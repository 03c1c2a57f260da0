package imagetest

import (
	"archive/tar"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
)

// minLargeLayerBytes is the smallest layer Large will plan: room for the
// directories, one file and the tar trailer.
const minLargeLayerBytes = 16 << 10

const tarBlock = 512

type contentKind int

const (
	textContent   contentKind = iota // lines drawn from a small table: compresses well
	randomContent                    // ChaCha8 output: incompressible, like media or archives
	binaryContent                    // 4 KiB blocks of random, zero or patterned bytes, like executables
)

type largeFile struct {
	path string
	size int64
	kind contentKind
}

// largePlan is everything needed to regenerate one layer's tar stream: a
// few KiB instead of the layer itself.
type largePlan struct {
	dirs        []string
	files       []largeFile
	lines       [][]byte // table that text content draws from
	contentSeed [32]byte
}

var topDirs = []string{"usr/lib/imagetest", "usr/share/imagetest", "opt/imagetest"}

var words = strings.Fields(`the image layer registry manifest digest config
	tag version build pipeline resource check get put source params kubelet pod
	node container runtime worker volume mount root user group mode size blob
	index platform linux amd64 arm64 error warning info debug true false null
	return func struct type const var import package if else for range`)

// planLargeLayer lays out a layer whose tar stream is exactly budget bytes,
// unless budget is not a multiple of the tar block, when it is the largest
// multiple below it.
func planLargeLayer(budget, seed int64, index int) largePlan {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(index)))
	top := fmt.Sprintf("%s/layer%02d/", topDirs[index%len(topDirs)], index)

	var p largePlan
	for i, part := range strings.Split(strings.TrimSuffix(top, "/"), "/") {
		prefix := ""
		if i > 0 {
			prefix = p.dirs[i-1]
		}
		p.dirs = append(p.dirs, prefix+part+"/")
	}
	subdirs := 8 + rng.IntN(9)
	for d := range subdirs {
		p.dirs = append(p.dirs, fmt.Sprintf("%sd%02d/", top, d))
	}

	remaining := budget - 2*tarBlock - int64(len(p.dirs))*tarBlock // trailer and directory headers
	for i := 0; remaining >= 2*tarBlock; i++ {
		size := drawFileSize(rng)
		if cost := tarBlock + roundUpToBlock(size); cost > remaining {
			size = remaining - tarBlock // last file fills the layer exactly
			size -= size % tarBlock
		}
		kind := drawContentKind(rng)
		path := fmt.Sprintf("%sd%02d/f%05d%s", top, rng.IntN(subdirs), i, extension(kind))
		p.files = append(p.files, largeFile{path: path, size: size, kind: kind})
		remaining -= tarBlock + roundUpToBlock(size)
	}

	p.lines = make([][]byte, 512)
	for i := range p.lines {
		var line []byte
		for range 3 + rng.IntN(12) {
			line = append(line, words[rng.IntN(len(words))]...)
			line = append(line, ' ')
		}
		line = fmt.Appendf(line, "%d\n", rng.IntN(100000))
		p.lines[i] = line
	}
	binary.LittleEndian.PutUint64(p.contentSeed[0:], uint64(seed))
	binary.LittleEndian.PutUint64(p.contentSeed[8:], uint64(index))
	return p
}

// drawFileSize is log-uniform within three bands: most files small, a few
// large ones carrying most of the bytes, as in real root filesystems.
func drawFileSize(rng *rand.Rand) int64 {
	logUniform := func(lo, hi float64) int64 {
		return int64(lo * math.Exp(rng.Float64()*math.Log(hi/lo)))
	}
	switch r := rng.Float64(); {
	case r < 0.70:
		return logUniform(256, 16<<10)
	case r < 0.95:
		return logUniform(16<<10, 1<<20)
	default:
		return logUniform(1<<20, 8<<20)
	}
}

func drawContentKind(rng *rand.Rand) contentKind {
	switch r := rng.Float64(); {
	case r < 0.45:
		return textContent
	case r < 0.75:
		return randomContent
	default:
		return binaryContent
	}
}

func extension(k contentKind) string {
	switch k {
	case textContent:
		return ".txt"
	case randomContent:
		return ".gz"
	default:
		return ".so"
	}
}

func roundUpToBlock(n int64) int64 { return (n + tarBlock - 1) / tarBlock * tarBlock }

// writeTar streams the planned layer. It reseeds its content generator on
// every call, so every read yields the same bytes.
func (p largePlan) writeTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, d := range p.dirs {
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: FixedTime}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write header of %q: %w", d, err)
		}
	}
	gen := contentGenerator{rng: rand.NewChaCha8(p.contentSeed), lines: p.lines, buf: make([]byte, 32<<10)}
	for _, f := range p.files {
		mode := int64(0o644)
		if f.kind == binaryContent {
			mode = 0o755
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.path, Size: f.size, Mode: mode, ModTime: FixedTime}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write header of %q: %w", f.path, err)
		}
		if err := gen.write(tw, f); err != nil {
			return fmt.Errorf("write content of %q: %w", f.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("close tar: %w", err)
	}
	return nil
}

type contentGenerator struct {
	rng   *rand.ChaCha8
	lines [][]byte
	buf   []byte
}

// write streams f.size bytes of f.kind content, one buffer at a time.
func (g *contentGenerator) write(w io.Writer, f largeFile) error {
	for left := f.size; left > 0; {
		chunk := g.buf[:min(int64(len(g.buf)), left)]
		switch f.kind {
		case textContent:
			g.fillText(chunk)
		case randomContent:
			_, _ = g.rng.Read(chunk) // ChaCha8.Read never fails
		default:
			g.fillBinary(chunk)
		}
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		left -= int64(len(chunk))
	}
	return nil
}

func (g *contentGenerator) fillText(b []byte) {
	for n := 0; n < len(b); {
		n += copy(b[n:], g.lines[g.rng.Uint64()%uint64(len(g.lines))])
	}
}

// fillBinary mimics an executable: sections of code-like random bytes,
// zero padding and repetitive tables.
func (g *contentGenerator) fillBinary(b []byte) {
	const block = 4 << 10
	for off := 0; off < len(b); off += block {
		part := b[off:min(off+block, len(b))]
		switch r := g.rng.Uint64() % 10; {
		case r < 4:
			_, _ = g.rng.Read(part)
		case r < 7:
			clear(part)
		default:
			base := g.rng.Uint64()
			for i := 0; i < len(part); i += 8 {
				var entry [8]byte
				binary.LittleEndian.PutUint64(entry[:], base+uint64(i))
				copy(part[i:], entry[:])
			}
		}
	}
}
