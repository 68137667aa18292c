package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/cluster"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// asCLI makes the test binary run as the tessera command (its arguments,
// its environment): `dev cluster` starts its nodes as `<this binary> serve`.
const asCLI = "TESSERA_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		os.Exit(run(os.Args[1:], os.Environ()))
	}
	os.Exit(m.Run())
}

// TestDevClusterBadFlags: a bad flag stops the command before anything
// starts, with one line.
func TestDevClusterBadFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nodes", "0"}, "tessera: nodes: want at least 1, got 0"},
		{[]string{"--nodes", "two"}, `tessera: invalid argument "two" for "--nodes" flag`},
		{[]string{"--addr", "8080"}, `tessera: addr: want host:port, got "8080"`},
		{[]string{"--postgres", "mysql://db/x"}, "tessera: postgres: want postgres://user@host:port/database"},
		{[]string{"--postgres", "postgres://127.0.0.1:5432"}, "tessera: postgres: want postgres://user@host:port/database"},
		{[]string{"--redis", "http://127.0.0.1"}, "tessera: redis: want redis://host:port/db: "},
		{[]string{"extra"}, `tessera: unknown command "extra" for "tessera dev cluster"`},
	} {
		code, out, errOut := runCLI(t, nil, append([]string{"dev", "cluster", "--dir", t.TempDir()}, tc.args...)...)
		if code != 1 || out != "" || !strings.HasPrefix(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 1 and one line %q…", tc.args, code, out, errOut, tc.want)
		}
	}
}

// TestDevCluster runs `tessera dev cluster` with one node: it prints where
// everything runs, the proxy answers, the node has the command's
// configuration (--apps files), and cancelling (Ctrl-C) stops it all with
// exit 0.
func TestDevCluster(t *testing.T) {
	t.Parallel()
	if _, err := cluster.LookVersitygw(); err != nil {
		t.Skip(err)
	}
	redis := freeAddr(t) // nothing there: the command starts a redis-server
	args := []string{"dev", "cluster", "--nodes", "1", "--addr", "127.0.0.1:0", "--dir", t.TempDir(),
		"--postgres", storetest.DSN(t, store.EnginePostgres), "--redis", "redis://" + redis + "/0", "--apps", "files"}
	environ := append(os.Environ(), asCLI+"=1", "TESSERA_APPS=records")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- runContext(ctx, args, environ, &out, &errOut) }()

	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(out.String(), "Ctrl-C stops them all.") {
		select {
		case code := <-done:
			t.Fatalf("dev cluster exited %d: %s %s", code, out.String(), errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev cluster not up within 3m: %s %s", out.String(), errOut.String())
		}
	}
	lines := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			lines[k] = strings.TrimSpace(v)
		}
	}
	proxy, _, _ := strings.Cut(lines["proxy"], " ")
	node, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(lines["node"], "1")), " ")
	if !strings.HasPrefix(proxy, "http://127.0.0.1:") || !strings.HasPrefix(node, "http://127.0.0.1:") ||
		!strings.HasSuffix(lines["postgres"], "(running already; left running)") || !strings.HasSuffix(lines["redis"], "(started; stopped at the end)") ||
		!strings.HasPrefix(lines["s3"], "s3://"+cluster.Bucket+"?endpoint=http://127.0.0.1:") {
		t.Fatalf("output:\n%s", out.String())
	}
	for _, c := range []struct {
		path string
		want int
	}{{"/readyz", http.StatusOK}, {"/files", http.StatusUnauthorized}, {"/records/types", http.StatusNotFound}} {
		if status, _, body := get(t, proxy+c.path); status != c.want {
			t.Errorf("GET %s through the proxy: %d %s, want %d", c.path, status, body, c.want)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 || !strings.HasSuffix(out.String(), "stopping\nstopped\n") {
			t.Fatalf("after Ctrl-C: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("dev cluster did not stop within a minute of Ctrl-C")
	}
	for _, addr := range []string{proxy, node, "http://" + redis} {
		if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(addr, "http://"), time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still answers after the stop", addr)
		}
	}
}

// syncBuffer is a bytes.Buffer written by the command's goroutine and read
// by the test: mu guards buf.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
