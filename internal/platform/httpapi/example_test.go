package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

type roomInput struct {
	ID int `path:"id" minimum:"1"`
}

type roomOutput struct {
	Body struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
}

// An app registers typed operations on its group and raw handlers with
// Handle; failures are faults, mapped to problem+json by the edge.
func Example() {
	s := httpapi.New(httpapi.Options{Title: "Tessera", Version: "1.0.0", Logger: slog.New(slog.DiscardHandler)})

	api := s.Group("/messaging")
	huma.Register(api, huma.Operation{
		OperationID: "messaging-get-room", Method: http.MethodGet, Path: "/rooms/{id}", Summary: "Get a room",
	}, func(ctx context.Context, in *roomInput) (*roomOutput, error) {
		if in.ID != 1 {
			return nil, fault.New(fault.NotFound, "room %d not found", in.ID)
		}
		out := &roomOutput{}
		out.Body.ID, out.Body.Name = 1, "lobby"
		return out, nil
	})
	s.Handle("GET /messaging/ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteProblem(w, r, fault.New(fault.Unavailable, "websockets are closed"))
	}))
	// main: httpapi.Serve(ctx, ln, s.Handler(), log, hub.CloseAll)

	for _, path := range []string{"/messaging/rooms/1", "/messaging/rooms/2", "/messaging/ws"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// 200 application/json
	// 404 application/problem+json
	// 503 application/problem+json
}
