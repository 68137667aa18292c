package cluster_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/apps/all"
	"github.com/tessera-dev/tessera/internal/cluster"
	"github.com/tessera-dev/tessera/internal/platform/blob/blobtest"
	"github.com/tessera-dev/tessera/internal/platform/mail/mailtest"
	"github.com/tessera-dev/tessera/internal/platform/node/nodetest"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
	"github.com/tessera-dev/tessera/internal/platform/testhttp"
)

// TestMain lets the test binary run as a node process of every app
// (nodetest.Command).
func TestMain(m *testing.M) {
	nodetest.ChildMain(all.Apps()...)
	os.Exit(m.Run())
}

// startCluster starts two nodes through the runner: a fresh Postgres
// database, a private redis-server the runner starts on a free port, and
// versitygw started by the runner (or, without the binary, the test S3
// store's bucket).
func startCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	redisAddr, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = redisAddr.Close()
	opts := cluster.Options{
		Nodes: 2, Addr: "127.0.0.1:0", Dir: t.TempDir(),
		Postgres: storetest.DSN(t, store.EnginePostgres),
		Redis:    "redis://" + redisAddr.Addr().String() + "/0",
		Node:     func(env []string) *exec.Cmd { return nodetest.Command(context.Background(), env...) },
	}
	if _, err := cluster.LookVersitygw(); err != nil {
		if os.Getenv(blobtest.EnvURL) == "" {
			t.Skipf("%v; and %s is not set", err, blobtest.EnvURL)
		}
		b := blobtest.NewBucket(t)
		opts.S3 = &cluster.S3{URL: b.URL.String(), AccessKey: b.Access, SecretKey: b.Secret}
	}
	c, err := cluster.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// TestCluster runs a two-node cluster: a user signs up on node 1 and
// confirms on node 2 (one mail sink), a token minted by node 1 works on node
// 2 and through the proxy on both nodes, a file uploaded on node 1 is read
// on node 2 (one S3 bucket), a websocket through the proxy reaches a node;
// then node 2 is killed and no request through the proxy fails, and Stop
// leaves no process and no open port behind. It is the package's only test
// that starts processes (the last check counts the test's children).
func TestCluster(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	n1, n2 := c.Nodes[0].URL, c.Nodes[1].URL
	if !strings.HasPrefix(c.S3.URL, "s3://") || c.URL == "" {
		t.Fatalf("cluster: %+v", c)
	}

	const email, password = "ann@example.com", "correct horse battery staple"
	testhttp.Expect(t, http.StatusCreated, http.MethodPost, n1+"/auth/signup", `{"email":"`+email+`","password":"`+password+`","name":"Ann"}`)
	code := mailtest.Code(t, c.MailDir(), email)
	if status, body := testhttp.Do(t, http.MethodPost, n2+"/auth/confirm", `{"email":"`+email+`","code":"`+code+`"}`); status/100 != 2 {
		t.Fatalf("confirm on node 2: %d %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(t, testhttp.Expect(t, http.StatusOK, http.MethodPost, n1+"/auth/token", `{"grant_type":"password","email":"`+email+`","password":"`+password+`"}`), &tok)
	bearer := testhttp.Bearer(tok.AccessToken)
	testhttp.Expect(t, http.StatusOK, http.MethodGet, n2+"/auth/me", "", bearer)

	served := map[string]int{}
	for range 4 {
		r := testhttp.Send(t, http.MethodGet, c.URL+"/auth/me", "", bearer)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /auth/me through the proxy: %d %s", r.Status, r.Body)
		}
		served[r.Header.Get(cluster.NodeHeader)]++
	}
	if served[n1] != 2 || served[n2] != 2 {
		t.Fatalf("the proxy sent GET /auth/me to %v, want 2 each to %s and %s", served, n1, n2)
	}

	var org struct{ ID string }
	mustJSON(t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, c.URL+"/orgs", `{"name":"Acme"}`, bearer), &org)
	inOrg := func(r *http.Request) { r.Header.Set("X-Org-ID", org.ID) }
	var file struct{ ID string }
	mustJSON(t, testhttp.Expect(t, http.StatusCreated, http.MethodPost, n1+"/files", "hello from node 1", bearer, inOrg,
		testhttp.ContentType("text/plain"), func(r *http.Request) { r.Header.Set("X-File-Name", "hello.txt") }), &file)
	if got := testhttp.Expect(t, http.StatusOK, http.MethodGet, n2+"/files/"+file.ID+"/content", "", bearer, inOrg); got != "hello from node 1" {
		t.Fatalf("node 2 read %q", got)
	}

	// A browser on the proxy's origin signs in over a websocket.
	conn := testhttp.Dial(t, c.URL, "/scheduling/anonymous", func(r *http.Request) { r.Header.Set("Origin", c.URL) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	signIn := `{"action":"signIn","request_id":"r1","data":{"email":"` + email + `","password":"` + password + `"}}`
	if err := conn.Write(ctx, websocket.MessageText, []byte(signIn)); err != nil {
		t.Fatal(err)
	}
	var frame struct {
		Type string
		Data struct {
			AccessToken string `json:"access_token"`
		}
	}
	if err := testhttp.ReadJSON(conn, 30*time.Second, &frame); err != nil || frame.Type != "result" || frame.Data.AccessToken == "" {
		t.Fatalf("signIn over the proxied websocket: %+v, %v", frame, err)
	}
	testhttp.Expect(t, http.StatusOK, http.MethodGet, n2+"/auth/me", "", testhttp.Bearer(frame.Data.AccessToken))
	_ = conn.Close(websocket.StatusNormalClosure, "")

	c.Nodes[1].Kill()
	for i := range 6 {
		r := testhttp.Send(t, http.MethodGet, c.URL+"/auth/me", "", bearer)
		if r.Status != http.StatusOK || r.Header.Get(cluster.NodeHeader) != n1 {
			t.Fatalf("GET %d after node 2 was killed: %d from %q: %s", i, r.Status, r.Header.Get(cluster.NodeHeader), r.Body)
		}
	}

	if err := c.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	redis, err := url.Parse(c.Redis)
	if err != nil {
		t.Fatal(err)
	}
	stopped := []string{n1, n2, c.URL, "http://" + redis.Host}
	if slices.Contains(c.Started, "versitygw") {
		s3, err := url.Parse(c.S3.URL)
		if err != nil {
			t.Fatal(err)
		}
		stopped = append(stopped, s3.Query().Get("endpoint"))
	}
	for _, base := range stopped {
		if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still answers after Stop", base)
		}
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("processes left after Stop: %v", kids)
	}
}

// children lists the test process's child processes (Linux /proc; none
// elsewhere).
func children(t *testing.T) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			out = append(out, s[:strings.LastIndexByte(s, ')')+1])
		}
	}
	return out
}

func mustJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %q", err, body)
	}
}
