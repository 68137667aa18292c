package node

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/testhttp"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// TestSignedUploadEmitsObjectCreated: a client PUTs to a signed URL of the
// filesystem blob store; the node records blob.object.created and an app's
// durable handler learns of the object (the S3 trigger role).
func TestSignedUploadEmitsObjectCreated(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			var blobs blob.Store
			created := make(chan events.Event, 4)
			uploads := app.App{Name: "uploads", Mount: func(_ context.Context, env app.Env) error {
				blobs = env.Blobs
				return env.Jobs.Register(jobs.Handler{Name: "uploads.created", EventType: blob.CreatedEvent,
					Handle: func(_ context.Context, e events.Event) error {
						created <- e
						return nil
					}})
			}}
			cfg := testConfig(t, engine)
			srv := openNode(t, cfg, uploads)
			// Signed URLs carry public_url; point it at the test server.
			signed, err := blobs.SignedPutURL("uploads/report.txt", time.Minute, blob.PutOptions{ContentType: "text/plain", MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			url := srv.URL + signed[strings.Index(signed, blob.PathPrefix):]
			status, body := testhttp.Do(t, http.MethodPut, url, "quarterly numbers", func(r *http.Request) {
				r.Header.Set("Content-Type", "text/plain")
			})
			if status != http.StatusCreated {
				t.Fatalf("signed PUT: %d %s", status, body)
			}
			select {
			case e := <-created:
				if e.Subject != "uploads/report.txt" || !strings.Contains(string(e.Payload), `"size":17`) {
					t.Fatalf("event %+v payload %s", e, e.Payload)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no blob.object.created handler run within 30s")
			}
		})
	}
}
