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
	module, layout, baseType, typeName, registry, bin, staticFiles string
	published                                                      *name.Digest
	tags                                                           []string
	meta                                                           resourceimage.Metadata
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
	if c.staticFiles != "" {
		entries, err := resourceimage.StaticEntries()
		if err != nil {
			return err
		}
		return resourceimage.WriteTree(c.staticFiles, entries)
	}

	bin := c.bin
	if bin == "" {
		if bin, err = os.MkdirTemp("", "imagebuild-"); err != nil {
			return fmt.Errorf("create binaries directory: %w", err)
		}
		defer os.RemoveAll(bin)
	}
	compiled := map[string]resourceimage.Compiled{}
	for _, p := range resourceimage.Platforms {
		fmt.Fprintf(stderr, "go build %s (version %s)\n", p, c.meta.Version)
		out, err := resourceimage.Compile(ctx, c.module, filepath.Join(bin, p.OS+"-"+p.Architecture), p, c.meta.Version)
		if err != nil {
			return err
		}
		compiled[p.String()] = out
	}
	idx, err := resourceimage.Index(compiled, c.meta)
	if err != nil {
		return err
	}
	if err := resourceimage.WriteLayout(c.layout, idx, c.meta.Version); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return fmt.Errorf("digest index: %w", err)
	}
	fmt.Fprintf(stdout, "layout %s\nindex %s\n", c.layout, d)
	if err := printSizes(stdout, idx); err != nil {
		return err
	}

	reference := ""
	if c.published != nil {
		if c.published.DigestStr() != d.String() {
			return fmt.Errorf("built index %s, but %s was published: the commit differs or the build is not reproducible", d, c.published)
		}
		reference = c.published.String()
	}
	if c.registry != "" {
		ref, err := resourceimage.Push(ctx, c.registry, c.tags, idx, remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			return err
		}
		reference = ref.String()
		fmt.Fprintf(stdout, "pushed %s (tags %s)\n", reference, strings.Join(c.tags, ", "))
	}
	if c.baseType != "" {
		img, err := resourceimage.PlatformImage(idx, resourceimage.Platforms[0])
		if err != nil {
			return err
		}
		if err := resourceimage.WriteBaseType(c.baseType, img, c.typeName, c.meta.Version, reference); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "base type %s in %s\n", c.typeName, c.baseType)
	}
	return nil
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

func parse(ctx context.Context, args []string, stderr io.Writer) (config, error) {
	var c config
	fl := flag.NewFlagSet("imagebuild", flag.ContinueOnError)
	// Errors are reported once, on one line, by main; -h prints the flags.
	fl.SetOutput(io.Discard)
	var tags, created, published string
	fl.StringVar(&c.module, "C", ".", "the module's root `directory`")
	fl.StringVar(&c.layout, "layout", "", "write the index as an OCI image layout into this new `directory`")
	fl.StringVar(&c.baseType, "base-type", "", "write the base-type bundle (linux/amd64) into this `directory`")
	fl.StringVar(&c.typeName, "type", "registry-image", "the base type's `name` in resource_metadata.json")
	fl.StringVar(&c.registry, "registry", os.Getenv("REGISTRY"), "push to this `host/repository` (default $REGISTRY)")
	fl.StringVar(&tags, "tags", "", "comma-separated `tags` to push (default: the version)")
	fl.StringVar(&published, "published", "", "the `repository@digest` this commit's image was published as: the build must give that digest, and the base type names it")
	fl.StringVar(&c.bin, "bin", "", "keep the compiled binaries in this `directory` (default: a temporary one)")
	fl.StringVar(&c.staticFiles, "static-files", "", "only write the platform-independent files (CA bundle, users, directories) under this `directory`, for the Dockerfile")
	fl.StringVar(&c.meta.Version, "version", "", "the release `version` (default: git describe --tags --always --dirty)")
	fl.StringVar(&c.meta.Revision, "revision", "", "the `commit` (default: git rev-parse HEAD)")
	fl.StringVar(&c.meta.Source, "source", defaultSource, "the repository's `URL`")
	fl.StringVar(&created, "created", os.Getenv("SOURCE_DATE_EPOCH"), "the creation time in `seconds` since the epoch (default: $SOURCE_DATE_EPOCH, else the commit time)")
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
	if c.layout == "" {
		return c, fmt.Errorf("no -layout: give a new directory for the OCI image layout")
	}
	if published != "" {
		if c.registry != "" {
			return c, fmt.Errorf("-published and -registry (or $REGISTRY) both given: -published names an image already pushed")
		}
		d, err := name.NewDigest(published)
		if err != nil {
			return c, fmt.Errorf("parse -published %q: want repository@sha256:…: %w", published, err)
		}
		c.published = &d
	}
	var err error
	if c.meta.Version == "" {
		if c.meta.Version, err = git(ctx, c.module, "describe", "--tags", "--always", "--dirty"); err != nil {
			return c, err
		}
	}
	if c.meta.Revision == "" {
		if c.meta.Revision, err = git(ctx, c.module, "rev-parse", "HEAD"); err != nil {
			return c, err
		}
	}
	if created == "" {
		if created, err = git(ctx, c.module, "log", "-1", "--format=%ct"); err != nil {
			return c, err
		}
	}
	secs, err := strconv.ParseInt(created, 10, 64)
	if err != nil {
		return c, fmt.Errorf("parse creation time %q: want seconds since the epoch: %w", created, err)
	}
	c.meta.Created = time.Unix(secs, 0).UTC()
	c.tags = []string{c.meta.Version}
	if tags != "" {
		c.tags = strings.Split(tags, ",")
	}
	return c, nil
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
