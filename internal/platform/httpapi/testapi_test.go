package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// The test API: a small app mounted under /test with operations covering the
// request decoding paths (JSON bodies, query, path and header parameters),
// handlers returning faults and plain errors, panics, and raw handlers.

type widgetNested struct {
	Flag  bool `json:"flag,omitempty"`
	Level int  `json:"level" minimum:"1" maximum:"5"`
}

type widgetPart struct {
	ID       string `json:"id" pattern:"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" doc:"A UUID."`
	Quantity int    `json:"quantity" minimum:"1" maximum:"99"`
}

type widgetBody struct {
	Name   string       `json:"name" minLength:"1" maxLength:"20"`
	Count  int          `json:"count,omitempty" minimum:"0" maximum:"1000"`
	Kind   string       `json:"kind" enum:"small,medium,large"`
	Tags   []string     `json:"tags,omitempty" maxItems:"5" uniqueItems:"true"`
	Nested widgetNested `json:"nested"`
	Parts  []widgetPart `json:"parts,omitempty" maxItems:"10"`
	Note   *string      `json:"note,omitempty" maxLength:"100"`
	Ratio  float64      `json:"ratio,omitempty" minimum:"0" maximum:"1"`
}

type widget struct {
	ID    int        `json:"id"`
	Body  widgetBody `json:"body"`
	Query string     `json:"query"`
}

type createWidgetInput struct {
	Shelf   int      `path:"shelf" minimum:"1" maximum:"1000"`
	Limit   int      `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Active  bool     `query:"active"`
	Sort    string   `query:"sort" enum:"name,count"`
	Label   string   `query:"label" maxLength:"10"`
	Colors  []string `query:"color,explode" maxItems:"3"`
	IfMatch string   `header:"If-Match"`
	Count   int      `header:"X-Count" minimum:"0" maximum:"100"`
	Body    widgetBody
}

type widgetOutput struct {
	Location string `header:"Location"`
	Body     widget
}

type getWidgetInput struct {
	ID string `path:"id" pattern:"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"`
}

type failInput struct {
	Code string `path:"code"`
}

// registerTestAPI registers the test operations on s under /test. With
// failures, it adds the routes and inputs that fail on purpose with a 5xx
// (plain errors, internal faults, panics); the fuzzer runs without them.
func registerTestAPI(s *Server, failures bool) {
	g := s.Group("/test")
	huma.Register(g, huma.Operation{
		OperationID:   "test-create-widget",
		Method:        http.MethodPost,
		Path:          "/shelves/{shelf}/widgets",
		Summary:       "Create a widget",
		DefaultStatus: http.StatusCreated,
	}, func(_ context.Context, in *createWidgetInput) (*widgetOutput, error) {
		switch {
		case in.Body.Name == "conflict":
			return nil, fault.New(fault.Conflict, "widget already exists")
		case failures && in.Body.Name == "boom":
			return nil, errors.New("secret database password in error text")
		case failures && in.Body.Name == "panic":
			panic("secret panic value")
		}
		out := &widgetOutput{Location: fmt.Sprintf("/test/shelves/%d/widgets/1", in.Shelf)}
		out.Body = widget{ID: 1, Body: in.Body, Query: fmt.Sprint(in.Limit, in.Active, in.Sort, in.Label, in.Colors, in.IfMatch, in.Count)}
		return out, nil
	})
	huma.Register(g, huma.Operation{
		OperationID: "test-get-widget",
		Method:      http.MethodGet,
		Path:        "/widgets/{id}",
		Summary:     "Get a widget",
	}, func(_ context.Context, in *getWidgetInput) (*widgetOutput, error) {
		return nil, fault.New(fault.NotFound, "widget %s not found", in.ID)
	})
	s.Handle("GET /test/raw/ok", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	}))
	if !failures {
		return
	}
	huma.Register(g, huma.Operation{
		OperationID: "test-fail",
		Method:      http.MethodGet,
		Path:        "/fail/{code}",
		Summary:     "Fail with a fault code",
	}, func(_ context.Context, in *failInput) (*struct{}, error) {
		return nil, failure(in.Code)
	})
	s.Handle("GET /test/raw/fail/{code}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, failure(r.PathValue("code")))
	}))
	s.Handle("GET /test/raw/panic", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"should-not-survive"`)
		panic(errors.New("secret raw panic value"))
	}))
	s.Handle("GET /test/raw/panic-after-write", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("partial"))
		panic("late panic")
	}))
	s.Handle("GET /test/raw/abort", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
}

// failure returns the error the fail routes return for code: a fault of
// that code (with fields for "invalid", a cause for "unavailable"), a
// wrapped fault for "wrapped", a plain error for "plain".
func failure(code string) error {
	switch code {
	case "invalid":
		return fault.WithFields("widget is invalid",
			fault.FieldError{Location: "body.name", Message: "is taken", Value: "bob"})
	case "wrapped":
		return fmt.Errorf("service: %w", fault.New(fault.NotFound, "room 7 not found"))
	case "plain":
		return errors.New("secret: dial tcp 10.0.0.5:5432: connection refused")
	case "rate_limited":
		return &fault.Error{Code: fault.RateLimited, Message: "slow down", RetryAfter: 7}
	case "unavailable":
		return fault.Wrap(errors.New("secret: redis down"), fault.Unavailable, "try again later")
	case "internal":
		return fault.Wrap(errors.New("secret internal cause"), fault.Internal, "secret internal message")
	default:
		return fault.New(fault.Code(code), "failed with %s", code)
	}
}

// logBuffer is a concurrency-safe log sink for tests.
//
// Ownership: mu guards buf.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestServer returns a Server with the test API, logging into the
// returned buffer.
func newTestServer(t testing.TB, opts Options) (*Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.Title == "" {
		opts.Title, opts.Version = "Test API", "1.0.0"
	}
	s := New(opts)
	registerTestAPI(s, true)
	return s, logs
}
