package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sync"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// chunkSize is the size of the buffers a filesystem put or get moves bytes
// with: large enough that the per-call costs (system calls, hashing setup)
// vanish, small enough that a put holds little (putBuffers chunks).
const chunkSize = 1 << 20

// putBuffers is how many chunks one put holds at most: one being filled
// from the reader and written while the others wait to be hashed.
const putBuffers = 4

var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, chunkSize)
	return &b
}}

// copyResult is what copyVerified read: its size and SHA-256 (hex).
type copyResult struct {
	n   int64
	sum string
}

// copyVerified copies r to w and returns the size and SHA-256 of what it
// copied, checking opts as bytes pass: past opts.MaxBytes it fails with
// fault.TooLarge (having read at most one byte more), at end of input it
// fails with the digest mismatch when the digest differs from opts.SHA256,
// a reader error is fault.Malformed, a done context is its error, a write
// error is returned as a writeError. On any failure w holds a prefix of the
// input, and the caller discards it.
//
// When w has an endOfInput method, it is called once all the input was
// written, before waiting for the hash.
//
// The SHA-256 runs in its own goroutine, pipelined with the reads and
// writes: each chunk is read in full (up to chunkSize), handed to the
// hasher, and written while the hasher works on it and the next chunk is
// read into another buffer. The memory is at most putBuffers chunks.
func copyVerified(ctx context.Context, w io.Writer, r io.Reader, opts PutOptions) (copyResult, error) {
	h := sha256.New()
	work := make(chan chunk, putBuffers)
	free := make(chan *[]byte, putBuffers)
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for c := range work {
			h.Write((*c.buf)[:c.n])
			free <- c.buf
		}
	}()
	taken := 0       // buffers taken from chunkPool
	var held *[]byte // the one of them this goroutine holds, if any
	stopped := false
	stop := func() { // waits for the hasher, puts the buffers back
		if stopped {
			return
		}
		stopped = true
		close(work)
		<-hashed
		if held != nil {
			chunkPool.Put(held)
			taken--
		}
		for range taken {
			chunkPool.Put(<-free)
		}
	}
	defer stop() // on every path, a panicking reader or writer included

	var n int64
	for {
		select {
		case held = <-free:
		default:
			if taken < putBuffers {
				held = chunkPool.Get().(*[]byte)
				taken++
			} else {
				held = <-free
			}
		}
		b := *held
		if opts.MaxBytes > 0 && int64(len(b)) > opts.MaxBytes-n+1 {
			b = b[:opts.MaxBytes-n+1] // read at most one byte past the limit
		}
		m, rerr := fill(ctx, r, b)
		n += int64(m)
		switch {
		case opts.MaxBytes > 0 && n > opts.MaxBytes:
			return copyResult{}, errTooLarge(opts.MaxBytes)
		case rerr == nil || errors.Is(rerr, io.EOF):
		case ctx.Err() != nil && errors.Is(rerr, ctx.Err()):
			return copyResult{}, rerr
		default:
			return copyResult{}, fault.Wrap(rerr, fault.Malformed, "reading the upload failed")
		}
		if m == 0 {
			break // end of input
		}
		work <- chunk{held, m} // the hasher puts it back in free when done
		held = nil
		if _, werr := w.Write(b[:m]); werr != nil {
			return copyResult{}, writeError{werr}
		}
		if rerr != nil {
			break // io.EOF with the last m bytes
		}
	}
	if e, ok := w.(interface{ endOfInput() }); ok {
		e.endOfInput() // while the hasher finishes
	}
	stop()
	sum := hex.EncodeToString(h.Sum(nil))
	if opts.SHA256 != "" && sum != opts.SHA256 {
		return copyResult{}, errDigest()
	}
	return copyResult{n: n, sum: sum}, nil
}

// chunk is the first n bytes of a buffer from chunkPool.
type chunk struct {
	buf *[]byte
	n   int
}

// writeError is a failure of the destination, as opposed to the input.
type writeError struct{ err error }

func (e writeError) Error() string { return e.err.Error() }
func (e writeError) Unwrap() error { return e.err }

// fill reads from r into b until b is full or r ends (io.EOF) or fails; a
// done ctx stops it with ctx's error.
func fill(ctx context.Context, r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
