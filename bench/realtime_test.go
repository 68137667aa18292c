package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/measure"
	"github.com/tessera-dev/tessera/internal/platform/realtime"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// BenchmarkEventToSubscribers: one event emitted in a transaction per op,
// timed from just before InTx until each of 1,000 websocket subscribers (one
// topic, one node, clients in this process) has read its push: the real log
// on each engine, the real hub, loopback websockets.
func BenchmarkEventToSubscribers(b *testing.B) {
	const subscribers = 1000
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			ctx := context.Background()
			st := storetest.Open(b, engine)
			if err := jobs.Migrate(ctx, st, nil); err != nil {
				b.Fatal(err)
			}
			log := events.New(st, events.Options{})
			hub, err := realtime.New(realtime.Options{Source: log, Compare: events.CompareCursor})
			if err != nil {
				b.Fatal(err)
			}
			log.OnCommit(func(events.Event) { hub.Notify() })
			hub.Route("bench", func(events.Event) realtime.Route { return realtime.Route{Topics: []string{"room:1"}} })
			if err := hub.Start(ctx); err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := hub.Accept(w, r, realtime.AcceptOptions{})
				if err != nil {
					return
				}
				if err := c.Subscribe(realtime.Subscription{App: "bench", Topics: []string{"room:1"}, Ack: "ready"}); err != nil {
					c.Close(realtime.StatusInternalError, "subscribe failed")
				}
			}))
			b.Cleanup(srv.Close)

			var sent atomic.Int64
			var received atomic.Int64
			done := make(chan struct{}, 1)
			lat := make([][]time.Duration, subscribers)
			var wg sync.WaitGroup
			url := "ws" + strings.TrimPrefix(srv.URL, "http")
			for i := range subscribers {
				conn, _, err := websocket.Dial(ctx, url, nil) //nolint:bodyclose // closed by the websocket library on success
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := conn.Read(ctx); err != nil { // the ack
					b.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						if _, _, err := conn.Read(ctx); err != nil {
							return
						}
						lat[i] = append(lat[i], time.Duration(time.Now().UnixNano()-sent.Load()))
						if received.Add(1) == subscribers {
							done <- struct{}{}
						}
					}
				}()
			}
			db := st.App(events.Schema)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				received.Store(0)
				sent.Store(time.Now().UnixNano())
				err := db.InTx(ctx, func(tx *store.Tx) error {
					return log.Emit(ctx, tx, events.Event{Type: "bench.message.created", Subject: "1",
						Payload: []byte(fmt.Sprintf(`{"n":%d,"text":"hello"}`, i))})
				})
				if err != nil {
					b.Fatal(err)
				}
				<-done
			}
			b.StopTimer()
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			measure.ReportLatencies(b, all, time.Microsecond)
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_ = hub.Shutdown(sctx)
			wg.Wait()
		})
	}
}
