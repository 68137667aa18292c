package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// reply is a response whose body call has read and closed.
type reply struct {
	StatusCode int
	Header     http.Header
}

// call sends one request to srv and returns the response with its body read.
func call(t *testing.T, srv *httptest.Server, method, path string, header map[string]string, body string) (*reply, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &reply{StatusCode: res.StatusCode, Header: res.Header}, b
}

// problemBody is a decoded problem, with every member's presence checked.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// checkProblem asserts res is a well-formed problem with the given status
// and returns it.
func checkProblem(t *testing.T, res *reply, body []byte, status int) problemBody {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", res.StatusCode, status, body)
	}
	return parseProblem(t, res.Header.Get("Content-Type"), body, status)
}

func parseProblem(t testing.TB, contentType string, body []byte, status int) problemBody {
	t.Helper()
	if contentType != ProblemContentType {
		t.Fatalf("Content-Type = %q, want %q; body %q", contentType, ProblemContentType, body)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		t.Fatalf("problem is not a JSON object: %v; body %q", err, body)
	}
	for _, k := range []string{"type", "title", "status", "detail", "errors"} {
		if _, ok := members[k]; !ok {
			t.Fatalf("problem lacks %q: %s", k, body)
		}
	}
	var p problemBody
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem: %v; body %s", err, body)
	}
	if p.Status != status {
		t.Fatalf("problem status = %d, want %d; body %s", p.Status, status, body)
	}
	if p.Title != http.StatusText(status) {
		t.Fatalf("problem title = %q, want %q", p.Title, http.StatusText(status))
	}
	return p
}

// validWidget is a body the create operation accepts.
const validWidget = `{"name":"w","count":3,"kind":"small","tags":["a"],"nested":{"level":2},` +
	`"parts":[{"id":"0190a6e4-7c5a-7b3e-8f00-000000000001","quantity":1}]}`
