package realtime

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
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
func smallBuffers(w http.ResponseWriter) http.ResponseWriter {
	if !canHijack(w) {
		return w
	}
	return smallBufferWriter{w}
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

type smallBufferWriter struct{ http.ResponseWriter }

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
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, connBufferSize)), nil
}
