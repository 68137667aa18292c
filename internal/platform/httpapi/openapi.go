package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// openAPIDoc is the OpenAPI document, marshaled once on first use: every
// operation must be registered before the server serves.
//
// Ownership: once guards body and err.
type openAPIDoc struct {
	once sync.Once
	body []byte
	err  error
}

// serveOpenAPI serves the OpenAPI 3.1 document of every Huma operation.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	s.openapi.once.Do(func() {
		s.openapi.body, s.openapi.err = json.Marshal(s.api.OpenAPI())
	})
	if s.openapi.err != nil {
		WriteProblem(w, r, s.openapi.err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(s.openapi.body)))
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.openapi.body)
}
