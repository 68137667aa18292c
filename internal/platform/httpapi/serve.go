package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// ShutdownTimeout bounds a graceful shutdown: the shutdown hooks and the
// wait for in-flight requests. It stays under the 30 s a container runtime
// usually grants between SIGTERM and SIGKILL.
const ShutdownTimeout = 25 * time.Second

// Server timeouts. There is no overall read or write timeout: uploads,
// downloads and websockets last as long as they need; Huma operations bound
// their own body reads (5 s by default).
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// Serve serves h on ln until ctx is done, then shuts down gracefully: it
// stops accepting, runs the onShutdown hooks (e.g. closing websockets with
// 1001, which http.Server.Shutdown does not track) concurrently with the
// wait for in-flight requests, and returns nil once all have finished within
// ShutdownTimeout. Past that, it closes the remaining connections and
// returns an error. It also returns an error if serving fails. Serve closes
// ln.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, onShutdown ...func(context.Context)) error {
	return serve(ctx, ln, h, log, ShutdownTimeout, onShutdown)
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, log *slog.Logger, onShutdown ...func(context.Context)) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return Serve(ctx, ln, h, log, onShutdown...)
}

func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, timeout time.Duration, hooks []func(context.Context)) error {
	if log == nil {
		log = slog.Default()
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// The hooks run from Shutdown, which calls them once it has closed the
	// listeners. shutdownCtx is written before Shutdown starts them.
	var shutdownCtx context.Context
	var hooksDone sync.WaitGroup
	for _, hook := range hooks {
		hooksDone.Add(1)
		srv.RegisterOnShutdown(func() {
			defer hooksDone.Done()
			hook(shutdownCtx)
		})
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", timeout.String())
	var cancel context.CancelFunc
	shutdownCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	hooksFinished := make(chan struct{})
	go func() { hooksDone.Wait(); close(hooksFinished) }()
	select {
	case <-hooksFinished:
	case <-shutdownCtx.Done():
		if err == nil {
			err = shutdownCtx.Err()
		}
	}
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
