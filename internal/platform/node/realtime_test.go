package node

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/testhttp"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

type push struct {
	Type   string `json:"type"`
	Cursor string `json:"cursor"`
	Data   struct {
		Event   string `json:"event"`
		Subject string `json:"subject"`
		Body    string `json:"body"`
	} `json:"data"`
}

// feed is a websocket client of /notes/feed.
type feed struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialFeed(t *testing.T, base, since string) *feed {
	t.Helper()
	path := "/notes/feed"
	if since != "" {
		path += "?since=" + since
	}
	f := &feed{t: t, conn: testhttp.Dial(t, base, path)}
	if ack := f.next(); ack.Type != "subscribed" {
		t.Fatalf("first frame %+v, want the subscription's ack", ack)
	}
	return f
}

func (f *feed) next() push {
	f.t.Helper()
	p, err := f.read()
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// read reads one frame within 45 s (generous: the machine may be loaded); safe to call from any goroutine.
func (f *feed) read() (push, error) {
	var p push
	err := testhttp.ReadJSON(f.conn, 45*time.Second, &p)
	return p, err
}

// expect reads pushes until it has the notes with the given bodies, in order.
func (f *feed) expect(bodies ...string) (last string) {
	f.t.Helper()
	for _, want := range bodies {
		p := f.next()
		if p.Type != "event" || p.Data.Event != "notes.note.created" || p.Data.Body != want || p.Cursor == "" {
			f.t.Fatalf("push %+v, want note %q", p, want)
		}
		last = p.Cursor
	}
	return last
}

func post(t *testing.T, base, body string) {
	t.Helper()
	if status, resp := testhttp.Do(t, "POST", base+"/notes/notes", `{"body":"`+body+`"}`); status != http.StatusOK {
		t.Fatalf("create %q: %d %s", body, status, resp)
	}
}

// TestFeedResume: a subscriber gets live events, misses some while away,
// and on reconnecting with its last cursor gets exactly the missed ones, in
// order, then live ones. On both engines.
func TestFeedResume(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			srv := openNode(t, testConfig(t, engine), notesApp())
			f := dialFeed(t, srv.URL, "")
			post(t, srv.URL, "one")
			last := f.expect("one")
			_ = f.conn.Close(websocket.StatusNormalClosure, "")

			post(t, srv.URL, "two")
			post(t, srv.URL, "three")
			g := dialFeed(t, srv.URL, last)
			g.expect("two", "three")
			post(t, srv.URL, "four")
			g.expect("four")
		})
	}
}

// TestTwoNodesOnePostgres: three nodes share one Postgres database and
// Redis. A subscriber on node A sees a write made through node B; after B is
// killed it keeps receiving, here writes made through node C.
func TestNodesShareEventsThroughRedis(t *testing.T) {
	t.Parallel()
	redisURL := os.Getenv("TESSERA_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("set TESSERA_TEST_REDIS_URL to run the multi-node test")
	}
	dsn := storetest.DSN(t, store.EnginePostgres)
	nodeCfg := func() *config.Config {
		cfg, err := config.Load(config.Sources{KnownApps: []string{"notes"}, Environ: []string{
			"TESSERA_DATA_DIR=" + t.TempDir(), "TESSERA_DATABASE=" + dsn, "TESSERA_REDIS=" + redisURL}})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	a := openNode(t, nodeCfg(), notesApp())
	b := openNode(t, nodeCfg(), notesApp())
	c := openNode(t, nodeCfg(), notesApp())

	f := dialFeed(t, a.URL, "")
	var lat []time.Duration
	for i := range 5 {
		start := time.Now()
		body := fmt.Sprintf("via-b-%d", i)
		post(t, b.URL, body)
		f.expect(body)
		lat = append(lat, time.Since(start))
	}
	t.Logf("write on node B to push on node A: %v", lat)

	b.CloseClientConnections()
	b.Close()
	for i := range 5 {
		post(t, c.URL, fmt.Sprintf("via-c-%d", i))
	}
	f.expect("via-c-0", "via-c-1", "via-c-2", "via-c-3", "via-c-4")
}
