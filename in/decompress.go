package in

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// decompress returns the tar stream of a layer, detecting gzip, zstd or
// none from the first bytes: manifests mislabel layers (BuildKit's docker
// zstd, uncompressed layers typed as gzip), the bytes do not.
func decompress(r io.Reader) (io.ReadCloser, string, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("read the layer: %w", err)
	}
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("open gzip stream: %w", err)
		}
		return zr, "gzip", nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, "", fmt.Errorf("open zstd stream: %w", err)
		}
		return zr.IOReadCloser(), "zstd", nil
	}
	return io.NopCloser(br), "uncompressed", nil
}

// readAhead decompresses in its own goroutine, a few chunks ahead of the
// reader, so that decompression and writing files use two cores. Memory is
// bounded by the chunks in flight.
type readAhead struct {
	chunks chan []byte
	free   chan []byte
	err    error // set before chunks is closed
	cur    []byte
	held   []byte // the whole chunk cur is in, to give back
	stop   chan struct{}
}

const (
	chunkSize   = 512 << 10
	chunksAhead = 8
)

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{chunks: make(chan []byte, chunksAhead), free: make(chan []byte, chunksAhead+1), stop: make(chan struct{})}
	for range chunksAhead + 1 {
		ra.free <- make([]byte, chunkSize)
	}
	go ra.fill(r)
	return ra
}

func (ra *readAhead) fill(r io.Reader) {
	defer close(ra.chunks)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.stop:
			return
		}
		n, err := fillBuf(r, buf[:cap(buf)])
		if n > 0 {
			select {
			case ra.chunks <- buf[:n]:
			case <-ra.stop:
				return
			}
		} else {
			ra.free <- buf
		}
		if err != nil {
			ra.err = err
			return
		}
	}
}

// fillBuf reads until buf is full or r fails; unlike io.ReadFull it passes
// on r's own io.ErrUnexpectedEOF (a truncated stream) as it is.
func fillBuf(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.held != nil {
			ra.free <- ra.held
			ra.held = nil
		}
		buf, ok := <-ra.chunks
		if !ok {
			return 0, ra.err
		}
		ra.cur, ra.held = buf, buf
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the goroutine; it does not close the source.
func (ra *readAhead) Close() error {
	close(ra.stop)
	for range ra.chunks {
	}
	return nil
}
