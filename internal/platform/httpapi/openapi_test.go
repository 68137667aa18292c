package httpapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestOpenAPIGolden pins the OpenAPI document of the test API (and the
// platform routes). Run with -update after an intended change, and review
// the diff.
func TestOpenAPIGolden(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	res, body := call(t, srv, "GET", "/openapi.json", nil, "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	for _, p := range []string{"/healthz", "/readyz", "/test/shelves/{shelf}/widgets", "/test/widgets/{id}"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("path %s not documented", p)
		}
	}

	var got bytes.Buffer
	if err := json.Indent(&got, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')
	golden := filepath.Join("testdata", "openapi.golden.json")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestOpenAPIGolden -update)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("OpenAPI document differs from %s; rerun with -update and review the diff", golden)
	}
}
