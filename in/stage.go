package in

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// A decoder does more than inflate its layer: it reads the tar stream
// itself and writes each regular file's content, owner, mode, xattrs and
// mtime into a file of its own in the layer's staging directory, beside the
// blobs (same filesystem as the rootfs). Its spool then holds only the
// entries' headers, each with the name of its staged file, and the applier,
// which applies every entry in order, renames a staged file into place: one
// system call where it used to create the file and copy its content from
// the tar stream. Every byte of content is then written once, by the
// decoders, which run side by side on every core, and the applier's own
// work, the one stage that cannot run in parallel, is small enough that
// every layer can be decoded at once (see decodeJobs).

// record is one entry of a staged spool.
type record struct {
	Hdr *tar.Header
	// Staged names the file holding a regular file's content in the
	// staging directory; empty for every other entry.
	Staged string
	// Failed: staging this entry failed; the spool's error says why.
	Failed bool
}

// stager writes a layer's entries into its spool and staging directory.
type stager struct {
	dir   string // the staging directory
	gen   int    // the spool's generation, which names its staged files
	owner owner
	notes *xattrNotes
	fault func(name string) error // for specs: fails the file it names
	buf   []byte
}

// stageAll reads the tar stream r, staging each regular file, and writes
// one record per entry to w. A failure to stage a file is written as that
// entry's record, so that the applier reports it in order, and returned as
// an *entryError.
func (st *stager) stageAll(ctx context.Context, r io.Reader, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := gob.NewEncoder(bw)
	tr := tar.NewReader(ctxReader{ctx, r})
	for seq := 0; ; seq++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the layer's tar stream: %w", err)
		}
		rec := record{Hdr: hdr}
		var stageErr error
		if hdr.Typeflag == tar.TypeReg && !isSparse(hdr) {
			rec.Staged = "g" + strconv.Itoa(st.gen) + "." + strconv.Itoa(seq)
			if stageErr = st.stage(rec.Staged, hdr, tr); stageErr != nil {
				rec.Failed = true
			}
		}
		if err := enc.Encode(&rec); err != nil {
			return err
		}
		// The applier follows the spool as it grows: each record is
		// written whole as soon as its file is staged.
		if err := bw.Flush(); err != nil {
			return err
		}
		if stageErr != nil {
			return &entryError{name: hdr.Name, err: stageErr}
		}
	}
}

// stage writes the content of hdr, read from r, into the file name of the
// staging directory and gives it hdr's attributes.
func (st *stager) stage(name string, hdr *tar.Header, r io.Reader) error {
	if st.fault != nil {
		if err := st.fault(hdr.Name); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(filepath.Join(st.dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if st.buf == nil {
		st.buf = make([]byte, 256<<10)
	}
	return fillFile(f, r, st.buf, st.owner.fileAttrs(hdr, entryMode(hdr), st.notes))
}

// errStagingFailed: the decoder could not stage an entry; its spool's
// error says which and why.
var errStagingFailed = errors.New("the decoder failed to stage the entry")

// records are a staged spool's entries, in order.
type records struct{ dec *gob.Decoder }

func newRecords(r io.Reader) *records {
	return &records{dec: gob.NewDecoder(bufio.NewReaderSize(r, 64<<10))}
}

func (rs *records) next() (*tar.Header, io.Reader, string, error) {
	var rec record
	err := rs.dec.Decode(&rec)
	switch {
	case errors.Is(err, io.EOF):
		return nil, nil, "", err
	case err != nil:
		return nil, nil, "", fmt.Errorf("read the layer's staged entries: %w", err)
	case rec.Hdr == nil:
		return nil, nil, "", errors.New("read the layer's staged entries: an entry without its header")
	case rec.Failed:
		return nil, nil, "", errStagingFailed
	}
	return rec.Hdr, nil, rec.Staged, nil
}

// entryMode is the part of hdr's mode an entry is given.
func entryMode(hdr *tar.Header) fs.FileMode {
	return hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// entryError is the failure of an entry applied out of the applier's
// sight, named as the applier names its own.
type entryError struct {
	name string
	err  error
}

func (e *entryError) Error() string { return fmt.Sprintf("extract %q: %v", e.name, e.err) }
func (e *entryError) Unwrap() error { return e.err }

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
