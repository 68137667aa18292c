package realtime

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
)

// connBufferSize is the size of each connection's read and write buffers.
// github.com/coder/websocket (v1.8.15) keeps for the connection's lifetime
// the bufio.Reader and bufio.Writer that the hijack returns, and net/http's
// are 4 KiB each: 8 KiB per idle connection. Frames larger than the buffer
// still work: bufio reads and writes them straight from and to the socket
// (a frame over the buffer costs one more syscall). Chosen by measurement
// with bench/wsrss: see docs/runtime.md.
const connBufferSize = 512

// smallBuffers wraps w so that the websocket library, which hijacks the
// connection through it, gets connBufferSize buffers instead of net/http's.
// A ResponseWriter that cannot hijack is returned as is (the library then
// answers 501 itself).
func smallBuffers(w http.ResponseWriter, cork *corkWriter) http.ResponseWriter {
	if !canHijack(w) {
		return w
	}
	return smallBufferWriter{w, cork}
}

// canHijack looks for an http.Hijacker along the Unwrap chain, as the
// websocket library and http.ResponseController do.
func canHijack(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case http.Hijacker:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}

type smallBufferWriter struct {
	http.ResponseWriter
	cork *corkWriter // receives the hijacked connection; the bufio.Writer writes through it
}

func (w smallBufferWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hijacks the underlying connection and returns it with small
// buffers; net/http's are left to the garbage collector. Bytes the client
// sent after its handshake and that net/http already read are kept: they
// are the first bytes of the new reader's buffer (the library takes what
// is buffered first, then reads the connection).
func (w smallBufferWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	if err := brw.Flush(); err != nil { // net/http flushed the 101 already; others may not
		_ = conn.Close()
		return nil, nil, fmt.Errorf("flush the handshake response: %w", err)
	}
	br := bufio.NewReaderSize(conn, connBufferSize)
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Peek(n) // cannot fail: n bytes are buffered
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn), max(n, connBufferSize))
		// One Read of the bytes.Reader fills the buffer with exactly them,
		// without touching the connection.
		if _, err := br.Peek(n); err != nil {
			_ = conn.Close()
			return nil, nil, fmt.Errorf("buffer the early bytes: %w", err)
		}
	}
	w.cork.conn = conn
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(w.cork, connBufferSize)), nil
}

// corkWriter sits between the websocket library's write buffer and the
// socket. Uncorked, writes go straight through. Corked, while the
// connection's writer goroutine writes a batch of frames, they gather in a
// pooled buffer and leave in one write at uncork: under load a subscriber
// gets many frames per syscall instead of one (a syscall per frame was half
// the server's CPU time in the chat benchmark). Control frames the library
// writes meanwhile (pongs) join the batch. mu guards every field but conn,
// which is set once by the hijack before any write.
type corkWriter struct {
	conn net.Conn

	mu     sync.Mutex
	corked bool
	buf    *bytes.Buffer // from corkBuffers while corked
	err    error         // the first failed write of the batch
}

// corkBuffers recycles batch buffers: an idle connection holds none.
var corkBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// corkFlushAt is the size at which a corked batch is written early.
const corkFlushAt = 64 << 10

func (w *corkWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.corked {
		return w.conn.Write(p)
	}
	if w.err != nil {
		return 0, w.err
	}
	w.buf.Write(p)
	if w.buf.Len() >= corkFlushAt {
		w.flushLocked()
	}
	return len(p), w.err
}

// cork starts gathering writes.
func (w *corkWriter) cork() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.corked = true
	w.buf = corkBuffers.Get().(*bytes.Buffer) //nolint:forcetypeassert // the pool holds *bytes.Buffer only
}

// uncork writes what gathered and returns the first write error.
func (w *corkWriter) uncork() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	err := w.err
	w.corked, w.err = false, nil
	w.buf.Reset()
	corkBuffers.Put(w.buf)
	w.buf = nil
	return err
}

func (w *corkWriter) flushLocked() {
	if w.err == nil && w.buf.Len() > 0 {
		_, w.err = w.conn.Write(w.buf.Bytes())
	}
	w.buf.Reset()
}
