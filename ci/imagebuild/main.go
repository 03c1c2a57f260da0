// Command imagebuild builds refimage's resource image without a Docker
// daemon (`make image`, `make base-type`): it cross-compiles the binaries
// for linux/amd64 and linux/arm64, writes the index as an OCI image layout,
// pushes it when a registry is given, and writes the base-type bundle.
//
// Every timestamp is the commit's (SOURCE_DATE_EPOCH, else git log), so two
// builds of one commit give one digest. Credentials for the push come from
// the Docker config (DOCKER_CONFIG or ~/.docker/config.json); extra CAs
// from SSL_CERT_FILE / SSL_CERT_DIR, as for any Go program.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/refimage/refimage/ci/resourceimage"
)

const defaultSource = "https://github.com/refimage/refimage"

type config struct {
	module, layout, baseType, typeName, registry, bin, staticFiles, binaries string
	published                                                                *name.Digest
	tags                                                                     []string
	meta                                                                     resourceimage.Metadata
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse(ctx, args, stderr)
	if err != nil {
		return err
	}
	if err := resourceimage.CheckCABundle(c.module); err != nil {
		return err
	}
	if c.binaries != "" {
		host := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
		_, err := resourceimage.Compile(ctx, c.module, c.binaries, host, c.meta.Version)
		return err
	}
	if c.staticFiles != "" {
		entries, err := resourceimage.StaticEntries()
		if err != nil {
			return err
		}
		return resourceimage.WriteTree(c.staticFiles, entries)
	}
	idx, err := build(ctx, c, stderr)
	if err != nil {
		return err
	}
	d, err := writeLayout(stdout, c, idx)
	if err != nil {
		return err
	}
	reference, err := publish(ctx, stdout, c, idx, d)
	if err != nil {
		return err
	}
	if c.baseType == "" {
		return nil
	}
	img, err := resourceimage.PlatformImage(idx, resourceimage.Platforms[0])
	if err != nil {
		return err
	}
	if err := resourceimage.WriteBaseType(c.baseType, img, c.typeName, c.meta.Version, reference); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "base type %s in %s\n", c.typeName, c.baseType)
	return nil
}

// build compiles the binaries for every platform, into c.bin or a temporary
// directory, and assembles the index.
func build(ctx context.Context, c config, stderr io.Writer) (v1.ImageIndex, error) {
	bin := c.bin
	if bin == "" {
		var err error
		if bin, err = os.MkdirTemp("", "imagebuild-"); err != nil {
			return nil, fmt.Errorf("create binaries directory: %w", err)
		}
		defer os.RemoveAll(bin)
	}
	compiled := map[string]resourceimage.Compiled{}
	for _, p := range resourceimage.Platforms {
		fmt.Fprintf(stderr, "go build %s (version %s)\n", p, c.meta.Version)
		out, err := resourceimage.Compile(ctx, c.module, filepath.Join(bin, p.OS+"-"+p.Architecture), p, c.meta.Version)
		if err != nil {
			return nil, err
		}
		compiled[p.String()] = out
	}
	return resourceimage.Index(compiled, c.meta)
}

// writeLayout writes the index as an OCI image layout and prints its digest
// and each platform's pull size.
func writeLayout(stdout io.Writer, c config, idx v1.ImageIndex) (v1.Hash, error) {
	if err := resourceimage.WriteLayout(c.layout, idx, c.meta.Version); err != nil {
		return v1.Hash{}, err
	}
	d, err := idx.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("digest index: %w", err)
	}
	fmt.Fprintf(stdout, "layout %s\nindex %s\n", c.layout, d)
	return d, printSizes(stdout, idx)
}

// publish returns the reference the base type names: the -published digest,
// which the build must reproduce, or the one pushed to -registry; "" when
// neither is given.
func publish(ctx context.Context, stdout io.Writer, c config, idx v1.ImageIndex, d v1.Hash) (string, error) {
	if c.published != nil {
		if c.published.DigestStr() != d.String() {
			return "", fmt.Errorf("built index %s, but %s was published: the commit differs or the build is not reproducible", d, c.published)
		}
		return c.published.String(), nil
	}
	if c.registry == "" {
		return "", nil
	}
	ref, err := resourceimage.Push(ctx, c.registry, c.tags, idx, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return "", err
	}
	fmt.Fprintf(stdout, "pushed %s (tags %s)\n", ref.String(), strings.Join(c.tags, ", "))
	return ref.String(), nil
}

// printSizes prints, for each platform, its manifest digest and what a pull
// downloads: the config and the compressed layers.
func printSizes(w io.Writer, idx v1.ImageIndex) error {
	for _, p := range resourceimage.Platforms {
		img, err := resourceimage.PlatformImage(idx, p)
		if err != nil {
			return err
		}
		size, err := resourceimage.PullSize(img)
		if err != nil {
			return err
		}
		d, err := img.Digest()
		if err != nil {
			return fmt.Errorf("digest %s image: %w", p, err)
		}
		fmt.Fprintf(w, "%s %s %d bytes (%.1f MiB)\n", p, d, size, float64(size)/(1<<20))
	}
	return nil
}

// flags are the inputs that parse turns into config fields.
type flags struct {
	tags, created, published string
}

func parse(ctx context.Context, args []string, stderr io.Writer) (config, error) {
	var c config
	var f flags
	fl := newFlagSet(&c, &f)
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fl.SetOutput(stderr)
			fl.PrintDefaults()
			return c, err
		}
		return c, fmt.Errorf("%w (see -h)", err)
	}
	if fl.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: every input is a flag (see -h)", fl.Arg(0))
	}
	if c.staticFiles != "" {
		return c, nil
	}
	if c.layout == "" && c.binaries == "" {
		return c, fmt.Errorf("no -layout: give a new directory for the OCI image layout")
	}
	if f.published != "" {
		if c.registry != "" {
			return c, fmt.Errorf("-published and -registry (or $REGISTRY) both given: -published names an image already pushed")
		}
		d, err := name.NewDigest(f.published)
		if err != nil {
			return c, fmt.Errorf("parse -published %q: want repository@sha256:…: %w", f.published, err)
		}
		c.published = &d
	}
	if err := fillFromGit(ctx, &c.meta, &f.created, c.module); err != nil {
		return c, err
	}
	secs, err := strconv.ParseInt(f.created, 10, 64)
	if err != nil {
		return c, fmt.Errorf("parse creation time %q: want seconds since the epoch: %w", f.created, err)
	}
	c.meta.Created = time.Unix(secs, 0).UTC()
	c.tags = []string{c.meta.Version}
	if f.tags != "" {
		c.tags = strings.Split(f.tags, ",")
	}
	return c, nil
}

// newFlagSet declares imagebuild's flags, writing into c and f.
func newFlagSet(c *config, f *flags) *flag.FlagSet {
	fl := flag.NewFlagSet("imagebuild", flag.ContinueOnError)
	// Errors are reported once, on one line, by main; -h prints the flags.
	fl.SetOutput(io.Discard)
	fl.StringVar(&c.module, "C", ".", "the module's root `directory`")
	fl.StringVar(&c.layout, "layout", "", "write the index as an OCI image layout into this new `directory`")
	fl.StringVar(&c.baseType, "base-type", "", "write the base-type bundle (linux/amd64) into this `directory`")
	fl.StringVar(&c.typeName, "type", "registry-image", "the base type's `name` in resource_metadata.json")
	fl.StringVar(&c.registry, "registry", os.Getenv("REGISTRY"), "push to this `host/repository` (default $REGISTRY)")
	fl.StringVar(&f.tags, "tags", "", "comma-separated `tags` to push (default: the version)")
	fl.StringVar(&f.published, "published", "", "the `repository@digest` this commit's image was published as: the build must give that digest, and the base type names it")
	fl.StringVar(&c.bin, "bin", "", "keep the compiled binaries in this `directory` (default: a temporary one)")
	fl.StringVar(&c.binaries, "binaries", "", "only build the image's executables for this machine's platform, as the image builds them, into this `directory` (make bin)")
	fl.StringVar(&c.staticFiles, "static-files", "", "only write the platform-independent files (CA bundle, users, directories) under this `directory`, for the Dockerfile")
	fl.StringVar(&c.meta.Version, "version", "", "the release `version` (default: git describe --tags --always --dirty)")
	fl.StringVar(&c.meta.Revision, "revision", "", "the `commit` (default: git rev-parse HEAD)")
	fl.StringVar(&c.meta.Source, "source", defaultSource, "the repository's `URL`")
	fl.StringVar(&f.created, "created", os.Getenv("SOURCE_DATE_EPOCH"), "the creation time in `seconds` since the epoch (default: $SOURCE_DATE_EPOCH, else the commit time)")
	return fl
}

// fillFromGit asks git in the module's directory for the version, the
// revision and the creation time that no flag gave.
func fillFromGit(ctx context.Context, meta *resourceimage.Metadata, created *string, module string) error {
	for _, v := range []struct {
		value *string
		args  []string
	}{
		{&meta.Version, []string{"describe", "--tags", "--always", "--dirty"}},
		{&meta.Revision, []string{"rev-parse", "HEAD"}},
		{created, []string{"log", "-1", "--format=%ct"}},
	} {
		if *v.value != "" {
			continue
		}
		out, err := git(ctx, module, v.args...)
		if err != nil {
			return err
		}
		*v.value = out
	}
	return nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w (give the value as a flag outside a git checkout)", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
