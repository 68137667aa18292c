package records_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/records"
	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/node"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// The configs the reload tests step through. alpha and beta are the
// starting types; later versions add types (gamma, delta, epsilon) and a
// parameter (alpha's note), or drop beta.
const (
	reloadAlpha = `"alpha": {"display_name": "Alpha", "plural": "alphas", "parameters": {
		"name": {"type": "string", "required": true}%s}}`
	reloadBeta  = `"beta": {"display_name": "Beta", "plural": "betas", "parameters": {"name": {"type": "string"}}}`
	reloadGamma = `"gamma": {"display_name": "Gamma", "plural": "gammas", "parameters": {"size": {"type": "integer", "minimum": 0}}}`
	reloadNote  = `, "note": {"type": "text"}`
)

// reloadConfig is a config file of the given types (JSON members).
func reloadConfig(types ...string) string {
	return `{"version": 1, "types": {` + strings.Join(types, ",\n") + `}}`
}

func reloadType(name string) string {
	return `"` + name + `": {"display_name": "` + name + `", "plural": "` + name + `s", "parameters": {}}`
}

func alphaWith(extra string) string { return strings.Replace(reloadAlpha, "%s", extra, 1) }

// writeReloadConfig replaces the file at path with content atomically (a
// reload triggered meanwhile, by any test's SIGHUP, reads the old or the
// new file, never half of one).
func writeReloadConfig(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// reloadLog is a slog handler keeping the records app's reload messages
// ("records: config …"), each with its err attribute.
type reloadLog struct {
	mu    sync.Mutex
	lines []string
}

func (h *reloadLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *reloadLog) Handle(_ context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, "records: config") {
		return nil
	}
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			line += ": " + a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, line)
	return nil
}

func (h *reloadLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *reloadLog) WithGroup(string) slog.Handler      { return h }

// since returns the lines logged from the i-th on.
func (h *reloadLog) since(i int) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lines[min(i, len(h.lines)):])
}

func (h *reloadLog) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.lines)
}

// hangup sends SIGHUP to the test process. The test holds a signal.Notify
// of its own (keepHangups), so the process is never killed by it, whether
// or not the records app's handler is registered yet.
func hangup(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}

// keepHangups makes SIGHUP harmless to the test process until the test
// ends.
func keepHangups(t *testing.T) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() {
		signal.Stop(ch)
		close(done)
	})
}

// untilHangup sends SIGHUP, then again every second, until ok holds or
// 20 s have passed (a reload may be missed: signals coalesce, and the app
// registers its handler in a goroutine).
func untilHangup(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		hangup(t)
		for range 10 {
			if ok() {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20 s of SIGHUP", what)
		}
	}
}

// loggedNode runs a node with the records app whose log goes to log, until
// the test ends; its mount context ends with the test too (which stops the
// app's SIGHUP handler).
func loggedNode(t *testing.T, environ []string, dsn string, log *reloadLog) *nodetest.Node {
	t.Helper()
	apps := []app.App{records.App()}
	cfg := nodetest.ConfigAt(t, dsn, apps, environ...)
	reg, err := app.NewRegistry(apps...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Open(ctx, cfg, reg, slog.New(log), node.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := n.Close(); err != nil {
			t.Error(err)
		}
		cancel()
	})
	return &nodetest.Node{Node: n, URL: srv.URL, Config: cfg}
}

// typeNames returns the type names GET /records/types serves, and the body.
func typeNames(t *testing.T, n *nodetest.Node, u user) ([]string, string) {
	t.Helper()
	body := testhttp.Expect(t, 200, "GET", n.URL+"/records/types", "", u.as()...)
	var v struct {
		Types []struct {
			Name string `json:"name"`
		} `json:"types"`
	}
	mustJSON(t, body, &v)
	names := make([]string, len(v.Types))
	for i, ty := range v.Types {
		names[i] = ty.Name
	}
	return names, body
}

// TestRecordsConfigReload changes the config file under a running node and
// sends SIGHUP: an added type and parameter are served; a config that drops
// a type with records, and a file that is not JSON, are refused and the
// config in force stays; a good file after them is applied again.
func TestRecordsConfigReload(t *testing.T) {
	keepHangups(t)
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "config.json")
		writeReloadConfig(t, path, reloadConfig(alphaWith(""), reloadBeta))
		log := &reloadLog{}
		n := loggedNode(t, []string{"TESSERA_RECORDS_CONFIG=" + path}, storetest.DSN(t, engine), log)
		u := newUser(t, n, "reload@example.com")

		if names, _ := typeNames(t, n, u); !slices.Equal(names, []string{"alpha", "beta"}) {
			t.Fatalf("types at start: %v", names)
		}
		a := u.create(t, n, "alphas", `{"fields":{"name":"first"}}`)
		b := u.create(t, n, "betas", `{"fields":{"name":"kept"}}`)
		testhttp.Expect(t, 422, "POST", n.URL+"/records/alphas", `{"fields":{"name":"x","note":"not yet"}}`, u.as()...)
		testhttp.Expect(t, 404, "GET", n.URL+"/records/gammas", "", u.as()...)

		// Added: a type and a parameter.
		v2 := []string{alphaWith(reloadNote), reloadBeta, reloadGamma}
		writeReloadConfig(t, path, reloadConfig(v2...))
		untilHangup(t, "gamma", func() bool {
			names, _ := typeNames(t, n, u)
			return slices.Contains(names, "gamma")
		})
		g := u.create(t, n, "gammas", `{"fields":{"size":3}}`)
		if g.Type != "gamma" {
			t.Fatalf("gamma record %+v", g)
		}
		testhttp.Expect(t, 422, "POST", n.URL+"/records/gammas", `{"fields":{"size":-1}}`, u.as()...)
		u.create(t, n, "alphas", `{"fields":{"name":"second","note":"now allowed"}}`)
		testhttp.Expect(t, 200, "GET", n.URL+"/records/alphas/"+a.ID, "", u.as()...)
		names, before := typeNames(t, n, u)
		if !slices.Equal(names, []string{"alpha", "beta", "gamma"}) {
			t.Fatalf("types after the reload: %v", names)
		}

		// Dropping beta, which has a record, is refused: nothing changes
		// (not even the type the same file adds).
		mark := log.len()
		writeReloadConfig(t, path, reloadConfig(alphaWith(reloadNote), reloadGamma, reloadType("delta")))
		untilHangup(t, "refusal of the config dropping beta", func() bool {
			return slices.ContainsFunc(log.since(mark), func(l string) bool {
				return strings.Contains(l, "refused") && strings.Contains(l, "beta") && strings.Contains(l, "--records-force")
			})
		})
		if _, after := typeNames(t, n, u); after != before {
			t.Fatalf("types changed by a refused reload:\n%s\nwas\n%s", after, before)
		}
		testhttp.Expect(t, 200, "GET", n.URL+"/records/betas/"+b.ID, "", u.as()...)
		u.create(t, n, "betas", `{"fields":{"name":"still served"}}`)
		testhttp.Expect(t, 404, "GET", n.URL+"/records/deltas", "", u.as()...)

		// A file that is not JSON is refused too.
		mark = log.len()
		writeReloadConfig(t, path, `{"version": 1, "types": {`)
		untilHangup(t, "refusal of a config that is not JSON", func() bool {
			return slices.ContainsFunc(log.since(mark), func(l string) bool {
				return strings.Contains(l, "refused") && strings.Contains(l, "not JSON")
			})
		})
		if _, after := typeNames(t, n, u); after != before {
			t.Fatalf("types changed by a refused reload:\n%s\nwas\n%s", after, before)
		}
		testhttp.Expect(t, 200, "GET", n.URL+"/records/gammas/"+g.ID, "", u.as()...)

		// The handler is still alive: a good file is applied.
		writeReloadConfig(t, path, reloadConfig(append(v2, reloadType("epsilon"))...))
		untilHangup(t, "epsilon", func() bool {
			names, _ := typeNames(t, n, u)
			return slices.Contains(names, "epsilon")
		})
		u.create(t, n, "epsilons", `{}`)
		if names, _ := typeNames(t, n, u); !slices.Equal(names, []string{"alpha", "beta", "epsilon", "gamma"}) {
			t.Fatalf("types after the last reload: %v", names)
		}
	})
}

// TestRecordsStartRefusesDroppedTypes starts a node on a database holding
// records of a type its config no longer declares: it fails, naming the
// type and --records-force; with records.force it starts, and the records
// stay listed by the admin API and reported as misfits.
func TestRecordsStartRefusesDroppedTypes(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine store.Engine) {
		t.Parallel()
		apps := []app.App{records.App()}
		dsn := storetest.DSN(t, engine)
		dir := t.TempDir()
		full, dropped := filepath.Join(dir, "full.json"), filepath.Join(dir, "dropped.json")
		writeReloadConfig(t, full, reloadConfig(alphaWith(""), reloadBeta))
		writeReloadConfig(t, dropped, reloadConfig(alphaWith(""), reloadGamma))

		first := nodetest.Start(t, nodetest.ConfigAt(t, dsn, apps, "TESSERA_RECORDS_CONFIG="+full), apps...)
		u := newUser(t, first, "dropper@example.com")
		b1 := u.create(t, first, "betas", `{"fields":{"name":"one"}}`)
		b2 := u.create(t, first, "betas", `{"fields":{"name":"two"}}`)
		a := u.create(t, first, "alphas", `{"fields":{"name":"fits"}}`)
		if err := first.Stop(); err != nil {
			t.Fatal(err)
		}

		// Refused at start.
		reg, err := app.NewRegistry(apps...)
		if err != nil {
			t.Fatal(err)
		}
		cfg := nodetest.ConfigAt(t, dsn, apps, "TESSERA_RECORDS_CONFIG="+dropped)
		wantMention := func(what string, err error) {
			t.Helper()
			for _, want := range []string{"beta", "2 records", "--records-force", "records.config"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s %q does not mention %q", what, err, want)
				}
			}
		}
		if err := openRefused(t, cfg, reg); err != nil {
			wantMention("start error", err)
		}
		// The same check, as the app's mount makes it, on the service.
		st, err := store.Open(context.Background(), dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := records.LoadSchema(dropped)
		if err != nil {
			t.Fatal(err)
		}
		err = records.NewService(st.App("records"), nil, nil, records.Options{}).Apply(context.Background(), sc, false)
		if err == nil {
			t.Error("Apply of a config dropping beta (2 records) succeeded")
		} else {
			wantMention("Apply error", err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}

		// Forced: it starts; beta's records are kept, for the admin only.
		forced := nodetest.Start(t, nodetest.ConfigAt(t, dsn, apps, "TESSERA_RECORDS_CONFIG="+dropped, "TESSERA_RECORDS_FORCE=true"), apps...)
		u.token = forced.SignIn(t, "dropper@example.com", password)
		if names, _ := typeNames(t, forced, u); !slices.Equal(names, []string{"alpha", "gamma"}) {
			t.Fatalf("types of the forced node: %v", names)
		}
		testhttp.Expect(t, 404, "GET", forced.URL+"/records/betas", "", u.as()...)
		testhttp.Expect(t, 200, "GET", forced.URL+"/records/alphas/"+a.ID, "", u.as()...)

		key, secret, err := forced.Identity().AdminKeys.Create(context.Background(), "records reload tests")
		if err != nil {
			t.Fatal(err)
		}
		adminAuth := testhttp.Basic(key.ID, secret)
		var list struct {
			Items []records.Record `json:"items"`
		}
		mustJSON(t, testhttp.Expect(t, 200, "GET", forced.URL+"/admin/records/records?type=beta", "", adminAuth), &list)
		var ids []string
		for _, r := range list.Items {
			ids = append(ids, r.ID)
		}
		slices.Sort(ids)
		want := []string{b1.ID, b2.ID}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("admin list of type beta: %v, want %v", ids, want)
		}
		testhttp.Expect(t, 200, "GET", forced.URL+"/admin/records/records/"+b1.ID, "", adminAuth)

		var misfits struct {
			Items []struct {
				Record   records.Record `json:"record"`
				Problems []struct {
					Location string `json:"location"`
				} `json:"problems"`
			} `json:"items"`
		}
		body := testhttp.Expect(t, 200, "GET", forced.URL+"/admin/records/misfits", "", adminAuth)
		mustJSON(t, body, &misfits)
		ids = ids[:0]
		for _, m := range misfits.Items {
			ids = append(ids, m.Record.ID)
			if len(m.Problems) == 0 || m.Problems[0].Location != "type" {
				t.Errorf("misfit %s: problems %+v, want one at type", m.Record.ID, m.Problems)
			}
		}
		slices.Sort(ids)
		if !slices.Equal(ids, want) {
			t.Errorf("misfits: %v, want beta's records %v: %s", ids, want, body)
		}
	})
}

// openRefused opens a node of cfg that must fail, and returns its error;
// nil (the test marked failed) when node.Open panicked instead of
// returning one.
func openRefused(t *testing.T, cfg *config.Config, reg *app.Registry) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("node.Open panicked instead of returning the records config error: %v", p)
			err = nil
		}
	}()
	n, err := node.Open(context.Background(), cfg, reg, slog.New(slog.DiscardHandler), node.Options{})
	if err == nil {
		_ = n.Close()
		t.Fatal("a node whose config drops beta (2 records) started")
	}
	return err
}
