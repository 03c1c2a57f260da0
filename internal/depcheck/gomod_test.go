package depcheck_test

import (
	"fmt"
	"go/version"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// runtimeGo is the go directive of JetBridge (github.com/tdmtrader/jetbridge),
// the Kubernetes runtime that imports hook and hook/kube. refimage's go.mod
// must not ask for more, or importing the hook raises the runtime's go line.
const runtimeGo = "1.25.6"

// runtimeVersions are JetBridge's go.mod versions of the modules refimage's
// root go.mod also requires. A requirement above one of these would be
// selected in the runtime's build when it imports hook (MVS takes the
// highest), so raising one means raising it for every such runtime.
// Every k8s.io module the root go.mod requires must be listed here.
var runtimeVersions = map[string]string{
	"k8s.io/api":                                       "v0.35.0",
	"k8s.io/apimachinery":                              "v0.35.0",
	"k8s.io/klog/v2":                                   "v2.130.1",
	"k8s.io/kube-openapi":                              "v0.0.0-20251125145642-4e65d59e963e",
	"k8s.io/utils":                                     "v0.0.0-20251222233032-718f0e51e6d2",
	"sigs.k8s.io/json":                                 "v0.0.0-20250730193827-2d320260d730",
	"sigs.k8s.io/randfill":                             "v1.0.0",
	"sigs.k8s.io/structured-merge-diff/v6":             "v6.3.1",
	"sigs.k8s.io/yaml":                                 "v1.6.0",
	"github.com/google/go-containerregistry":           "v0.21.2",
	"github.com/onsi/ginkgo/v2":                        "v2.27.3",
	"github.com/onsi/gomega":                           "v1.38.3",
	"github.com/sirupsen/logrus":                       "v1.9.3",
	"github.com/vbauerster/mpb/v8":                     "v8.11.3",
	"github.com/klauspost/compress":                    "v1.18.4",
	"github.com/Masterminds/semver/v3":                 "v3.4.0",
	"github.com/aws/aws-sdk-go-v2":                     "v1.41.0",
	"github.com/aws/aws-sdk-go-v2/config":              "v1.32.6",
	"github.com/aws/aws-sdk-go-v2/credentials":         "v1.19.6",
	"github.com/aws/aws-sdk-go-v2/service/sts":         "v1.41.5",
	"github.com/aws/smithy-go":                         "v1.24.0",
	"github.com/docker/cli":                            "v29.2.1+incompatible",
	"github.com/fxamacker/cbor/v2":                     "v2.9.0",
	"github.com/golang-jwt/jwt/v5":                     "v5.3.0",
	"github.com/google/pprof":                          "v0.0.0-20260106004452-d7df1bf2cac7",
	"github.com/mattn/go-runewidth":                    "v0.0.19",
	"github.com/clipperhouse/uax29/v2":                 "v2.3.0",
	"github.com/containerd/stargz-snapshotter/estargz": "v0.18.2",
	"go.yaml.in/yaml/v2":                               "v2.4.3",
	"go.yaml.in/yaml/v3":                               "v3.0.4",
	"golang.org/x/crypto":                              "v0.48.0",
	"golang.org/x/mod":                                 "v0.33.0",
	"golang.org/x/net":                                 "v0.50.0",
	"golang.org/x/sync":                                "v0.19.0",
	"golang.org/x/sys":                                 "v0.41.0",
	"golang.org/x/text":                                "v0.34.0",
	"golang.org/x/tools":                               "v0.42.0",
}

// upgradesForced lists what a go.mod would raise in a runtime at
// JetBridge's versions that imports hook and hook/kube.
func upgradesForced(data []byte) ([]string, error) {
	f, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse go.mod: %w", err)
	}
	var bad []string
	if f.Go != nil && version.Compare("go"+f.Go.Version, "go"+runtimeGo) > 0 {
		bad = append(bad, fmt.Sprintf("go directive %s is above %s: lower it with `go get go@%s`", f.Go.Version, runtimeGo, runtimeGo))
	}
	for _, r := range f.Require {
		path, v := r.Mod.Path, r.Mod.Version
		ceiling, known := runtimeVersions[path]
		switch {
		case path == "k8s.io/client-go":
			bad = append(bad, "k8s.io/client-go is required: keep suites that need it in a nested module such as hook/kube/runtimetest")
		case !known && strings.HasPrefix(path, "k8s.io/"):
			bad = append(bad, fmt.Sprintf("%s %s has no runtime version to compare with: add JetBridge's to runtimeVersions", path, v))
		case known && semver.Compare(v, ceiling) > 0:
			bad = append(bad, fmt.Sprintf("%s %s is above the runtime's %s: `go get %s@%s`", path, v, ceiling, path, ceiling))
		}
	}
	return bad, nil
}

func TestGoModForcesNoUpgradesOnARuntime(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := upgradesForced(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Error(b)
	}
}

func TestUpgradesForcedFindsEachKind(t *testing.T) {
	cases := map[string]string{
		"go 1.26.0\n": "go directive 1.26.0 is above 1.25.6",
		"go 1.25.6\nrequire k8s.io/api v0.37.2\n":                              "k8s.io/api v0.37.2 is above the runtime's v0.35.0",
		"go 1.25.6\nrequire k8s.io/client-go v0.35.0\n":                        "k8s.io/client-go is required",
		"go 1.25.6\nrequire k8s.io/kubelet v0.35.0\n":                          "k8s.io/kubelet v0.35.0 has no runtime version",
		"go 1.25.6\nrequire golang.org/x/sys v0.50.0\n":                        "golang.org/x/sys v0.50.0 is above the runtime's v0.41.0",
		"go 1.25.6\nrequire k8s.io/utils v0.0.0-20260626114624-be93311217bd\n": "k8s.io/utils v0.0.0-20260626114624-be93311217bd is above",
	}
	for gomod, want := range cases {
		bad, err := upgradesForced([]byte("module example.com/m\n" + gomod))
		if err != nil {
			t.Fatal(err)
		}
		if len(bad) != 1 || !strings.Contains(bad[0], want) {
			t.Errorf("go.mod %q: got %q, want one problem containing %q", gomod, bad, want)
		}
	}
	ok := "module example.com/m\ngo 1.25.0\nrequire (\n\tk8s.io/api v0.34.1\n\tgolang.org/x/sys v0.41.0\n\tgithub.com/some/other v1.9.0\n)\n"
	if bad, err := upgradesForced([]byte(ok)); err != nil || len(bad) != 0 {
		t.Errorf("go.mod at or below the runtime's versions: got %q, %v", bad, err)
	}
}
