package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	ln := listen(t)
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	var hookRan atomic.Bool
	hook := func(ctx context.Context) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("hook context has no deadline")
		}
		hookRan.Store(true)
	}
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, mux, slog.New(slog.DiscardHandler), hook) }()

	inflight := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			inflight <- "error: " + err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		inflight <- string(b)
	}()
	<-started
	cancel()

	// New connections are refused once shutdown has begun.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if got := <-inflight; got != "done" {
		t.Fatalf("in-flight request: %q", got)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	if !hookRan.Load() {
		t.Fatal("shutdown hook not run")
	}
}

func TestServeShutdownIsBounded(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // released only when the connection is closed
	})
	ln := listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, ln, mux, slog.New(slog.DiscardHandler), 200*time.Millisecond,
			[]func(context.Context){func(ctx context.Context) { <-ctx.Done() }})
	}()
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/stuck")
		if err == nil {
			res.Body.Close()
		}
	}()
	<-started
	begin := time.Now()
	cancel()
	select {
	case err := <-served:
		if err == nil {
			t.Fatal("Serve = nil after a forced shutdown")
		}
		if d := time.Since(begin); d > 5*time.Second {
			t.Fatalf("shutdown took %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown not bounded")
	}
}

func TestListenAndServeError(t *testing.T) {
	t.Parallel()
	ln := listen(t)
	defer func() { _ = ln.Close() }()
	err := ListenAndServe(t.Context(), ln.Addr().String(), http.NewServeMux(), nil)
	if err == nil {
		t.Fatal("listening on a busy address succeeded")
	}
}
