// Package nodetest runs a real node (platform and apps) behind an
// httptest.Server for the apps' tests, on either store engine.
package nodetest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/node"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// Node is a running node and the test server in front of it.
type Node struct {
	*node.Node
	// URL is the server's base URL (http://127.0.0.1:port).
	URL    string
	Config *config.Config
	// Proc is set instead of the embedded node when the node runs in a
	// child process (Spawn).
	Proc *Proc

	srv  *httptest.Server
	once sync.Once
}

// Config returns a configuration with a fresh data directory and a fresh
// database of engine (storetest.DSN), plus environ ("TESSERA_KEY=value").
// apps are the apps the registry will know.
func Config(t testing.TB, engine store.Engine, apps []app.App, environ ...string) *config.Config {
	t.Helper()
	return ConfigAt(t, storetest.DSN(t, engine), apps, environ...)
}

// ConfigAt is Config on a given database (several nodes sharing one).
func ConfigAt(t testing.TB, dsn string, apps []app.App, environ ...string) *config.Config {
	t.Helper()
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = a.Name
	}
	env := append([]string{"TESSERA_DATA_DIR=" + t.TempDir(), "TESSERA_DATABASE=" + dsn}, environ...)
	cfg, err := config.Load(config.Sources{Environ: env, KnownApps: names})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Start opens a node of cfg with apps, serves it over httptest, and stops
// both when the test ends.
func Start(t testing.TB, cfg *config.Config, apps ...app.App) *Node {
	t.Helper()
	return StartWith(t, cfg, node.Options{}, apps...)
}

// StartWith is Start with node options.
func StartWith(t testing.TB, cfg *config.Config, opts node.Options, apps ...app.App) *Node {
	t.Helper()
	reg, err := app.NewRegistry(apps...)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(context.Background(), cfg, reg, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.Handler())
	nd := &Node{Node: n, URL: srv.URL, Config: cfg, srv: srv}
	t.Cleanup(func() {
		if err := nd.Stop(); err != nil {
			t.Error(err)
		}
	})
	return nd
}

// Stop closes the server and the node (once; Start's cleanup calls it too).
func (n *Node) Stop() error {
	var err error
	n.once.Do(func() {
		n.srv.Close()
		err = n.Close()
	})
	return err
}
