package events_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// BenchmarkEmit measures events emitted per second, each in its own
// transaction, from parallel goroutines, without handlers.
func BenchmarkEmit(b *testing.B) {
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		b.Run(string(engine), func(b *testing.B) {
			s := storetest.Open(b, engine)
			if err := s.Migrate(context.Background(), events.Migrations(), testApp); err != nil {
				b.Fatal(err)
			}
			l, db := events.New(s, events.Options{}), s.App("testapp")
			e := events.Event{Type: "testapp.item.created", OrgID: "org1", Payload: json.RawMessage(`{"name":"bench"}`)}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					emit(b, l, db, e)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emits/s")
		})
	}
}

// BenchmarkRead measures reading the log in pages of 100.
func BenchmarkRead(b *testing.B) {
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		b.Run(string(engine), func(b *testing.B) {
			ctx := context.Background()
			s := storetest.Open(b, engine)
			if err := s.Migrate(ctx, events.Migrations(), testApp); err != nil {
				b.Fatal(err)
			}
			l, db := events.New(s, events.Options{}), s.App("testapp")
			err := db.InTx(ctx, func(tx *store.Tx) error {
				for range 1000 {
					if err := l.Emit(tx.Context(), tx, events.Event{Type: "testapp.item.created"}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				var after events.Cursor
				for {
					evs, err := l.Read(ctx, after, events.Filter{}, 100)
					if err != nil {
						b.Fatal(err)
					}
					if len(evs) < 100 {
						break
					}
					after = evs[len(evs)-1].Cursor
				}
			}
			b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "events-read/s")
		})
	}
}
