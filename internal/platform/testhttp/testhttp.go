// Package testhttp sends HTTP requests from tests and reads the whole
// answer: one helper for the platform's and the apps' tests.
package testhttp

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Response is an answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Send sends a request with body (Content-Type application/json when body
// is not empty; a prepare function may set another) and reads the answer.
// Each prepare function, when not nil, sets credentials or headers.
func Send(t testing.TB, method, url, body string, prepare ...func(*http.Request)) Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, p := range prepare {
		if p != nil {
			p(req)
		}
	}
	return roundTrip(t, req)
}

// Stream sends body with no announced length (chunked), as a client
// streaming an upload does, and reads the whole answer.
func Stream(t testing.TB, method, url string, body io.Reader, prepare ...func(*http.Request)) Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	for _, p := range prepare {
		if p != nil {
			p(req)
		}
	}
	return roundTrip(t, req)
}

// roundTrip sends req and reads the whole answer.
func roundTrip(t testing.TB, req *http.Request) Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// Do is Send returning the status and the body.
func Do(t testing.TB, method, url, body string, prepare ...func(*http.Request)) (int, string) {
	t.Helper()
	r := Send(t, method, url, body, prepare...)
	return r.Status, r.Body
}

// Expect is Do requiring the status want: otherwise the test fails with the
// request and the answer. It returns the body.
func Expect(t testing.TB, want int, method, url, body string, prepare ...func(*http.Request)) string {
	t.Helper()
	status, resp := Do(t, method, url, body, prepare...)
	if status != want {
		t.Fatalf("%s %s %s: %d %s, want %d", method, url, body, status, resp, want)
	}
	return resp
}

// Basic sets Basic credentials (an admin API key).
func Basic(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(id, secret) }
}

// Bearer sets a bearer token.
func Bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// ContentType sets the Content-Type header.
func ContentType(ct string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Content-Type", ct) }
}
