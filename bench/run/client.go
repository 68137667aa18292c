package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client sends the runner's requests to the nodes. It is safe for
// concurrent use (its fields are set once).
type client struct {
	hc   *http.Client
	urls []string
	// adminID and adminSecret are the admin key (Basic auth).
	adminID, adminSecret string
}

func newClient(urls []string, adminID, adminSecret string, conns int) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0
	tr.MaxIdleConnsPerHost = conns + 8
	return &client{hc: &http.Client{Transport: tr, Timeout: time.Minute}, urls: urls, adminID: adminID, adminSecret: adminSecret}
}

// close drops the idle connections.
func (c *client) close() { c.hc.CloseIdleConnections() }

// call is one request.
type call struct {
	node         int // the URL: urls[node % len(urls)]
	method, path string
	body         []byte
	contentType  string // default application/json with a body
	token        string // a bearer token
	admin        bool   // the admin key instead
	org          string // X-Org-ID
	header       map[string]string
	want         int // the expected status
	out          any // when set, the JSON answer is decoded into it
	size         int // when positive, the answer's body must be this long
}

// do sends r and reads its whole answer into buf (the caller's, reused).
// An answer other than r.want is an error quoting the body.
func (c *client) do(ctx context.Context, buf *bytes.Buffer, r call) error {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.urls[r.node%len(c.urls)]+r.path, body)
	if err != nil {
		return err
	}
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json, application/problem+json, */*")
	switch {
	case r.admin:
		req.SetBasicAuth(c.adminID, c.adminSecret)
	case r.token != "":
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.org != "" {
		req.Header.Set("X-Org-ID", r.org)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", r.method, r.path, err)
	}
	if resp.StatusCode != r.want {
		return fmt.Errorf("%s %s: %s, want %d: %s", r.method, r.path, resp.Status, r.want, snippet(buf.Bytes()))
	}
	if r.size > 0 && buf.Len() != r.size {
		return fmt.Errorf("%s %s: %d bytes, want %d", r.method, r.path, buf.Len(), r.size)
	}
	if r.out != nil {
		if err := json.Unmarshal(buf.Bytes(), r.out); err != nil {
			return fmt.Errorf("%s %s: decode %s: %w", r.method, r.path, snippet(buf.Bytes()), err)
		}
	}
	return nil
}

// snippet is the start of an answer's body, on one line.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// send is do with a buffer of its own, for the set-up.
func (c *client) send(ctx context.Context, r call) error {
	var buf bytes.Buffer
	return c.do(ctx, &buf, r)
}
