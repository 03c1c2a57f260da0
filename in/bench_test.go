package in_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/onsi/gomega/gexec"

	"github.com/refimage/refimage/internal/imagetest"
	"github.com/refimage/refimage/internal/registrytest"
	"github.com/refimage/refimage/resource"
)

const (
	largeSize   = 200 << 20
	largeLayers = 5
)

// BenchmarkIn runs the in binary end to end on imagetest.Large, served by
// the Distribution registry on loopback: a full rootfs download next to
// the raw sequential pipeline (fetch, decompress, untar each layer in turn)
// as the physical reference, and the reference-only mode with the requests
// it made per run (ref-requests and ref-manifest-HEADs are per run; pings
// of /v2/ are not counted). full/raw is the ratio of the best of the
// interleaved runs (five pairs) of each; full/raw-median-pair, the median of the
// pairs' ratios, says how steady that is on a shared machine. Each pair
// also runs this machine's floors (floor_bench_test.go), the least work of
// four kinds, up to floor-in: the least any in process has to do.
// create-us is what creating an empty file cost before each pair: on this
// machine's disk it varies tenfold with the deletions of the last minutes
// (see scratch), and every run creates a thousand.
// With REFIMAGE_BENCH_BASELINE_IN=path/to/in (another commit's build), and
// with REFIMAGE_BENCH_REGISTRY_IMAGE_IN=path/to/registry-image's in, those
// binaries run in each pair too, with the same request: NAME/raw-median-pair
// is their median ratio to the raw pipeline, full/NAME-median-pair this
// binary's to theirs, and FLOOR/NAME-median-pair each floor's to theirs
// (floor-in/NAME, the least full/NAME could be on this machine). REFIMAGE_BENCH_IN_PAIRS=N runs N pairs
// instead of 5: on a shared machine the pairs' ratios spread by about 5 %,
// so a smaller difference needs more of them.
func BenchmarkIn(b *testing.B) {
	pairs := pairsFromEnv(b)
	bin, dist := inAndDistribution(b)
	proxy := registrytest.NewProxy(dist)
	b.Cleanup(proxy.Close)

	img, err := imagetest.Large(largeSize, largeLayers, 1)
	must(b, err)
	repo := proxy.Repo("bench/large")
	digest, err := imagetest.Push(repo+":latest", img, proxy.RemoteOptions()...)
	must(b, err)
	req := request{Source: map[string]any{"repository": repo}, Version: resource.Version{Tag: "latest", Digest: digest}}
	// The full download and the raw pipeline talk to the registry itself:
	// the proxy, which only counts requests, would add a hop and compete
	// for the same cores.
	direct := dist.Repo("bench/large")
	fullReq := request{Source: map[string]any{"repository": direct}, Version: req.Version}
	others := othersFromEnv()
	floors := floorInputs{files: layerFiles(b, img, b.TempDir()), fetched: registryLayers(b, direct, digest),
		bin: buildFloorIn(b)}

	for range b.N {
		// The machine is shared, so each figure is the best of a few runs.
		// Process start and request decoding alone: a request the binary
		// refuses before any I/O.
		start := best(5, func() timedRun { return runTimed(b, bin, map[string]any{}, b.TempDir()) })
		proxy.Reset()
		ref := best(5, func() timedRun { return runTimed(b, bin, req, b.TempDir(), inPod) })
		counts := proxy.Counts()
		fr := fullAgainstRaw(b, pairs, bin, others, fullReq, direct, digest, floors)
		if fr.full.err != nil || ref.err != nil {
			b.Fatalf("in failed: full: %v, reference: %v", fr.full.err, ref.err)
		}
		fr.report(b)
		b.ReportMetric(float64(ref.wall.Microseconds())/1000, "ref-ms")
		b.ReportMetric(float64(start.wall.Microseconds())/1000, "start-ms")
		b.ReportMetric(float64((ref.wall-start.wall).Microseconds())/1000, "ref-minus-start-ms")
		b.ReportMetric(float64(counts.Total-counts.Ping)/5, "ref-requests")
		b.ReportMetric(float64(counts.ManifestHEAD)/5, "ref-manifest-HEADs")
	}
}

// pairsFromEnv is REFIMAGE_BENCH_IN_PAIRS, 5 when unset.
func pairsFromEnv(b *testing.B) int {
	v := os.Getenv("REFIMAGE_BENCH_IN_PAIRS")
	if v == "" {
		return 5
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("REFIMAGE_BENCH_IN_PAIRS=%q: give a number of pairs, at least 1", v)
	}
	return n
}

// fullRaw is what n interleaved runs of the full download, of the raw
// pipeline, of the other binaries and of the floor gave.
type fullRaw struct {
	raw, full timedRun // the fastest of each; full has the highest peak RSS
	// The ratio of each full run to the raw run beside it.
	pairRatios []float64
	others     []*another
	// The floors' fastest runs, and each full run's ratio to each floor
	// beside it.
	floors
	overFloors [numFloors][]float64
	// What creating an empty file cost before each pair.
	createCost []float64
}

// another is an in binary run in each pair beside this one, with the same
// request, so that builds and implementations compare on one machine
// state; name prefixes its metrics.
type another struct {
	name, bin string
	// Its wall time over the raw run's, and the full run's and each
	// floor's over its, pair by pair.
	overRaw, fullOver []float64
	floorsOver        [numFloors][]float64
}

// othersFromEnv are the binaries the environment names: another build of
// in (REFIMAGE_BENCH_BASELINE_IN, another commit's, say) and
// registry-image's in built from its source
// (REFIMAGE_BENCH_REGISTRY_IMAGE_IN).
func othersFromEnv() []*another {
	var others []*another
	for _, o := range []another{{name: "baseline", bin: os.Getenv("REFIMAGE_BENCH_BASELINE_IN")},
		{name: "registry-image", bin: os.Getenv("REFIMAGE_BENCH_REGISTRY_IMAGE_IN")}} {
		if o.bin != "" {
			others = append(others, &o)
		}
	}
	return others
}

// fullAgainstRaw runs the raw pipeline, the in binary, the others and the
// floors n times in turn, each into a directory emptied afterwards (see
// scratch), so that none pays for another's dirty pages. It stops at the
// first full run that fails, with that run as full.
func fullAgainstRaw(b *testing.B, n int, bin string, others []*another, fullReq request, repo, digest string, inputs floorInputs) fullRaw {
	fr := fullRaw{others: others}
	for i := range n {
		fr.createCost = append(fr.createCost, createCost(b))
		r := rawPipeline(b, repo, digest, scratch(b))
		f := runTimed(b, bin, fullReq, scratch(b))
		fr.pairRatios = append(fr.pairRatios, f.wall.Seconds()/r.wall.Seconds())
		fl := inputs.run(b, fullReq)
		for k := range fl {
			fr.overFloors[k] = append(fr.overFloors[k], f.wall.Seconds()/fl[k].wall.Seconds())
		}
		for _, o := range others {
			o.run(b, fullReq, r, f, fl)
		}
		if i == 0 {
			fr.raw, fr.floors = r, fl
		}
		fr.raw = faster(fr.raw, r)
		for k := range fl {
			fr.floors[k] = faster(fr.floors[k], fl[k])
		}
		if f.err != nil {
			fr.full = f
			break
		}
		if i == 0 || f.wall < fr.full.wall {
			fr.full.wall, fr.full.cpu = f.wall, f.cpu
		}
		fr.full.maxRSS = max(fr.full.maxRSS, f.maxRSS)
	}
	return fr
}

// run runs the other binary once and records how it compares to the raw
// run, the full run and the floor run of its pair.
func (o *another) run(b *testing.B, req request, raw, full timedRun, fl floors) {
	t := runTimed(b, o.bin, req, scratch(b))
	if t.err != nil {
		b.Fatalf("%s %s failed: %v", o.name, o.bin, t.err)
	}
	o.overRaw = append(o.overRaw, t.wall.Seconds()/raw.wall.Seconds())
	o.fullOver = append(o.fullOver, full.wall.Seconds()/t.wall.Seconds())
	for k := range fl {
		o.floorsOver[k] = append(o.floorsOver[k], fl[k].wall.Seconds()/t.wall.Seconds())
	}
}

// faster is the run of a and b with the shorter wall time.
func faster(a, b timedRun) timedRun {
	if b.wall < a.wall {
		return b
	}
	return a
}

// report reports the full download's figures and how they compare to the
// raw pipeline's, the other binaries' and the floor's.
func (fr fullRaw) report(b *testing.B) {
	mib := float64(largeSize) / (1 << 20)
	b.ReportMetric(fr.full.wall.Seconds(), "full-s")
	b.ReportMetric(mib/fr.full.wall.Seconds(), "full-MiB/s")
	b.ReportMetric(float64(fr.full.maxRSS)/(1<<20), "full-maxrss-MiB")
	b.ReportMetric(fr.raw.wall.Seconds(), "raw-seq-s")
	b.ReportMetric(fr.full.wall.Seconds()/fr.raw.wall.Seconds(), "full/raw")
	b.ReportMetric(median(fr.pairRatios), "full/raw-median-pair")
	for _, o := range fr.others {
		b.ReportMetric(median(o.overRaw), o.name+"/raw-median-pair")
		b.ReportMetric(median(o.fullOver), "full/"+o.name+"-median-pair")
		for k, name := range floorNames {
			b.ReportMetric(median(o.floorsOver[k]), name+"/"+o.name+"-median-pair")
		}
	}
	b.ReportMetric(fr.full.cpu.Seconds(), "full-cpu-s")
	b.ReportMetric(fr.raw.cpu.Seconds(), "raw-seq-cpu-s")
	for k, name := range floorNames {
		b.ReportMetric(fr.floors[k].wall.Seconds(), name+"-s")
		b.ReportMetric(fr.floors[k].cpu.Seconds(), name+"-cpu-s")
		b.ReportMetric(median(fr.overFloors[k]), "full/"+name+"-median-pair")
	}
	b.ReportMetric(median(fr.createCost), "create-us-median-pair")
}

// median sorts xs and returns its middle value (the upper one of an even
// count).
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// best runs f n times and keeps the fastest run, with the highest peak
// RSS seen (memory does not get better by luck).
func best(n int, f func() timedRun) timedRun {
	var out timedRun
	for i := range n {
		r := f()
		if r.err != nil {
			return r
		}
		if i == 0 || r.wall < out.wall {
			out.wall = r.wall
		}
		out.maxRSS = max(out.maxRSS, r.maxRSS)
	}
	return out
}

// scratch is a new directory; the one made before it is emptied first,
// so that no run pays for another's dirty pages. Its files are truncated,
// not deleted, and go with the benchmark's temporary directory at the end:
// on ext4 without a journal (this machine's disk), each new inode is looked
// for past every inode of its group freed in the last minute or more, one
// by one, so a run's thousand deletions would make every creation of the
// runs after it slower (docs/in.md, "What creating a file costs on this
// machine's disk").
func scratch(b *testing.B) string {
	if lastScratch != "" {
		must(b, truncateAll(lastScratch))
	}
	dir, err := os.MkdirTemp(b.TempDir(), "run-")
	must(b, err)
	lastScratch = dir
	return dir
}

// createCost is the microseconds it takes to create an empty file where
// the runs write, now: the part of every run that depends most on the
// filesystem's state (see scratch). The files stay, as the runs' do.
func createCost(b *testing.B) float64 {
	dir, err := os.MkdirTemp(b.TempDir(), "probe-")
	must(b, err)
	const files = 200
	t0 := time.Now()
	for i := range files {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		must(b, err)
		must(b, f.Close())
	}
	return float64(time.Since(t0).Microseconds()) / files
}

// truncateAll empties every regular file below dir, keeping the inodes. A
// dir already removed (with the temporary directory of an earlier run of
// the benchmark) holds nothing to empty.
func truncateAll(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if p == dir && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if err := os.Truncate(p, 0); !errors.Is(err, fs.ErrPermission) {
			return err
		}
		// A read-only file of the image, when not running as root.
		if err := os.Chmod(p, 0o600); err != nil {
			return err
		}
		return os.Truncate(p, 0)
	})
}

var lastScratch string

type timedRun struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // bytes
	err    error
}

func cpuOf(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runTimed(b *testing.B, bin string, req any, dest string, env ...string) timedRun {
	body, err := json.Marshal(req)
	must(b, err)
	cmd := exec.Command(bin, dest)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	err = cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		err = errors.New(stderr.String())
	}
	run := timedRun{wall: wall, err: err}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		run.maxRSS = ru.Maxrss << 10 // KiB on Linux
		run.cpu = cpuOf(ru)
	}
	return run
}

// rawPipeline is the physical reference: each layer in turn fetched,
// gunzipped and untarred into dir, with no verification, no safety and no
// concurrency.
func rawPipeline(b *testing.B, repo, digest, dir string) timedRun {
	var before, after syscall.Rusage
	must(b, syscall.Getrusage(syscall.RUSAGE_SELF, &before))
	t0 := time.Now()
	for _, l := range remoteLayers(b, repo, digest) {
		rc, err := l.Compressed()
		must(b, err)
		zr, err := gzip.NewReader(rc)
		must(b, err)
		must(b, imagetest.Untar(zr, dir))
		rc.Close()
	}
	wall := time.Since(t0)
	must(b, syscall.Getrusage(syscall.RUSAGE_SELF, &after))
	return timedRun{wall: wall, cpu: cpuOf(&after) - cpuOf(&before)}
}

// inAndDistribution builds the in binary and starts the CNCF registry that
// the benchmarks download from; both are cleaned up with b.
func inAndDistribution(b *testing.B) (string, *registrytest.Registry) {
	bin, err := gexec.Build("github.com/refimage/refimage/cmd/in")
	must(b, err)
	b.Cleanup(gexec.CleanupBuildArtifacts)
	dist, err := registrytest.StartDistribution()
	must(b, err)
	b.Cleanup(dist.Close)
	return bin, dist
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
