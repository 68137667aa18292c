package node

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/testhttp"

	"github.com/coder/websocket"
	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/realtime"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

type noteInput struct {
	Body struct {
		Body string `json:"body" minLength:"1" maxLength:"100"`
	}
}

type noteOutput struct {
	Body struct {
		ID   int64  `json:"id"`
		Body string `json:"body"`
	}
}

type adminNotesOutput struct {
	Body struct {
		Count int `json:"count"`
	}
}

// notesApp is a small app with a table, a typed route and a raw route.
func notesApp() app.App {
	return app.App{
		Name:       "notes",
		Migrations: os.DirFS("testdata/notes"),
		Mount: func(_ context.Context, env app.Env) error {
			huma.Post(env.API, "/notes", func(ctx context.Context, in *noteInput) (*noteOutput, error) {
				out := &noteOutput{}
				err := env.DB.InTx(ctx, func(tx *store.Tx) error {
					err := tx.QueryRow(ctx, "INSERT INTO notes_notes (id, body) VALUES ((SELECT coalesce(max(id), 0) + 1 FROM notes_notes), ?) RETURNING id, body",
						in.Body.Body).Scan(&out.Body.ID, &out.Body.Body)
					if err != nil {
						return err
					}
					return env.Events.Emit(ctx, tx, events.Event{App: "notes", Type: "notes.note.created",
						Subject: strconv.FormatInt(out.Body.ID, 10), Payload: json.RawMessage(`{"body":` + strconv.Quote(out.Body.Body) + `}`)})
				})
				return out, err
			}, func(op *huma.Operation) { op.OperationID = "notes-create" })
			// Every note is mailed to its reader, once, by a durable handler.
			err := env.Jobs.Register(jobs.Handler{Name: "notes.mail", EventType: "notes.note.created",
				Handle: func(ctx context.Context, e events.Event) error {
					return env.DB.InTx(ctx, func(tx *store.Tx) error {
						_, _, err := env.Mail.Enqueue(ctx, tx, mail.Message{DedupeKey: e.ID + ":note", App: "notes", Template: "note",
							To: "reader@example.com", Content: mail.Content{Subject: "Note " + e.Subject, Text: string(e.Payload)}})
						return err
					})
				}})
			if err != nil {
				return err
			}
			// Admins list every note under /admin/notes/notes.
			huma.Get(env.Admin, "/notes", func(ctx context.Context, _ *struct{}) (*adminNotesOutput, error) {
				out := &adminNotesOutput{}
				err := env.DB.QueryRow(ctx, "SELECT count(*) FROM notes_notes").Scan(&out.Body.Count)
				return out, err
			}, func(op *huma.Operation) { op.OperationID = "admin-notes-list" })
			// A live feed of notes, resumable with ?since=<cursor>.
			env.Hub.Route("notes", func(events.Event) realtime.Route { return realtime.Route{Topics: []string{"notes"}} })
			env.Handle("GET /notes/feed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := env.Hub.Accept(w, r, realtime.AcceptOptions{})
				if err != nil {
					return
				}
				err = c.Subscribe(realtime.Subscription{App: "notes", Topics: []string{"notes"},
					Since: events.Cursor(r.URL.Query().Get("since")), Ack: map[string]string{"type": "subscribed"}})
				if err != nil {
					c.Close(websocket.StatusInternalError, "")
				}
				// The hub owns the connection from here: listen-only, no OnMessage.
			}))
			env.Handle("GET /notes/raw", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, "raw")
			}))
			return nil
		},
	}
}

// otherApp has no tables; it is here to be disabled.
func otherApp() app.App {
	return app.App{Name: "other", Mount: func(_ context.Context, env app.Env) error {
		env.Handle("GET /other/ping", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
		return nil
	}}
}

func openNode(t *testing.T, cfg *config.Config, apps ...app.App) *httptest.Server {
	t.Helper()
	return openNodeWith(t, cfg, Options{}, apps...)
}

func openNodeWith(t *testing.T, cfg *config.Config, opts Options, apps ...app.App) *httptest.Server {
	t.Helper()
	reg, err := app.NewRegistry(apps...)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open(context.Background(), cfg, reg, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

func testConfig(t *testing.T, engine store.Engine, extra ...string) *config.Config {
	t.Helper()
	environ := append([]string{"TESSERA_DATA_DIR=" + t.TempDir(), "TESSERA_DATABASE=" + storetest.DSN(t, engine)}, extra...)
	cfg, err := config.Load(config.Sources{Environ: environ, KnownApps: []string{"notes", "other"}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestAppsMountOnBothEngines(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			srv := openNode(t, testConfig(t, engine, "TESSERA_APPS=notes"), notesApp(), otherApp())

			status, body := testhttp.Do(t, "POST", srv.URL+"/notes/notes", `{"body":"hello"}`)
			var note struct {
				ID   int64
				Body string
			}
			if status != http.StatusOK || json.Unmarshal([]byte(body), &note) != nil || note.ID != 1 || note.Body != "hello" {
				t.Fatalf("create note: %d %s", status, body)
			}
			if status, body := testhttp.Do(t, "POST", srv.URL+"/notes/notes", `{"body":"hello","extra":1}`); status != http.StatusBadRequest {
				t.Errorf("unknown field: %d %s", status, body)
			}
			if status, body := testhttp.Do(t, "GET", srv.URL+"/notes/raw", ""); status != http.StatusOK || body != "raw" {
				t.Errorf("raw route: %d %q", status, body)
			}
			if status, _ := testhttp.Do(t, "GET", srv.URL+"/other/ping", ""); status != http.StatusNotFound {
				t.Errorf("disabled app answered: %d", status)
			}
			status, body = testhttp.Do(t, "GET", srv.URL+"/openapi.json", "")
			if status != http.StatusOK || !strings.Contains(body, `"/notes/notes"`) {
				t.Errorf("openapi lacks the app's route: %d %.200s", status, body)
			}
		})
	}
}

// TestEventToHandlerToMail: a write emits an event in its transaction; a
// durable handler reacts after commit and queues a mail; the platform's mail
// handler writes it to the .eml sink. On both engines.
func TestEventToHandlerToMail(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, engine)
			srv := openNode(t, cfg, notesApp())
			if status, body := testhttp.Do(t, "POST", srv.URL+"/notes/notes", `{"body":"ship it"}`); status != http.StatusOK {
				t.Fatalf("create: %d %s", status, body)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				files, _ := filepath.Glob(filepath.Join(cfg.MailDir(), "*.eml"))
				if len(files) == 1 {
					b, err := os.ReadFile(files[0])
					if err != nil || !strings.Contains(string(b), "Subject: Note 1") || !strings.Contains(string(b), "ship it") {
						t.Fatalf("mail %s: %v\n%s", files[0], err, b)
					}
					return
				}
				if len(files) > 1 || time.Now().After(deadline) {
					t.Fatalf("want exactly one mail, found %d", len(files))
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestReadyzChecksRedis(t *testing.T) {
	t.Parallel()
	redisURL := os.Getenv("TESSERA_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("set TESSERA_TEST_REDIS_URL to check readiness against a real Redis")
	}
	up := openNode(t, testConfig(t, store.EngineSQLite, "TESSERA_REDIS="+redisURL))
	if status, body := testhttp.Do(t, "GET", up.URL+"/readyz", ""); status != http.StatusOK || !strings.Contains(body, `"redis":"ok"`) {
		t.Errorf("readyz with Redis up: %d %s", status, body)
	}
	// Nothing listens on port 1: the check fails and readyz says which.
	down := openNode(t, testConfig(t, store.EngineSQLite, "TESSERA_REDIS=redis://127.0.0.1:1/0"))
	if status, body := testhttp.Do(t, "GET", down.URL+"/readyz", ""); status != http.StatusServiceUnavailable || !strings.Contains(body, "redis") {
		t.Errorf("readyz with Redis down: %d %s", status, body)
	}
}

func TestReadyzChecksS3Endpoint(t *testing.T) {
	t.Parallel()
	srv := openNode(t, testConfig(t, store.EngineSQLite, "TESSERA_BLOBS=s3://bucket?endpoint=http://127.0.0.1:1&region=us-east-1",
		"TESSERA_S3_ACCESS_KEY=a", "TESSERA_S3_SECRET_KEY=b"))
	if status, body := testhttp.Do(t, "GET", srv.URL+"/readyz", ""); status != http.StatusServiceUnavailable || !strings.Contains(body, "blobs") {
		t.Errorf("readyz with S3 unreachable: %d %s", status, body)
	} // The pages may reach the bucket's signed URLs (the console's photo
	// uploads and images).
	r := testhttp.Send(t, "GET", srv.URL+"/", "")
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:1;") ||
		!strings.Contains(csp, "img-src 'self' data: http://127.0.0.1:1;") {
		t.Errorf("CSP on S3: %q", csp)
	}
}

func TestLocalKeyIsCreatedOnceAndKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := make(chan []byte, 8)
	for range cap(keys) {
		go func() {
			k, err := localKey(dir, "blobs")
			if err != nil {
				t.Error(err)
			}
			keys <- k
		}()
	}
	first := <-keys
	for range cap(keys) - 1 {
		if k := <-keys; string(k) != string(first) || len(k) != 32 {
			t.Fatal("concurrent first uses must agree on one 32-byte key")
		}
	}
	info, err := os.Stat(dir + "/keys/blobs.key")
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}
}

func TestBlobRouteIsMounted(t *testing.T) {
	t.Parallel()
	srv := openNode(t, testConfig(t, store.EngineSQLite))
	status, body := testhttp.Do(t, "PUT", srv.URL+"/blobs/notes/a.txt", "unsigned")
	if status != http.StatusForbidden || !strings.Contains(body, `"status":403`) {
		t.Fatalf("unsigned PUT: %d %s", status, body)
	}
}
