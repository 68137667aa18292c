package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// testApp is an app schema, so that on Postgres events are emitted as an
// app's role (which proves the platform's grants).
var testApp = store.MigrationSet{Schema: "testapp", FS: fstest.MapFS{
	"0001_init.sql": {Data: []byte("-- +goose Up\nCREATE TABLE testapp_items (id TEXT PRIMARY KEY);\n")},
}}

// setup migrates the platform and the test app and returns the log and the
// app's handle.
func setup(t *testing.T, s *store.Store, opts events.Options) (*events.Log, *store.DB) {
	t.Helper()
	if err := s.Migrate(context.Background(), events.Migrations(), testApp); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return events.New(s, opts), s.App("testapp")
}

func emit(t testing.TB, l *events.Log, db *store.DB, e events.Event) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *store.Tx) error {
		return l.Emit(tx.Context(), tx, e)
	})
	if err != nil {
		t.Fatalf("emit %s: %v", e.Type, err)
	}
}

// readN reads every event after the cursor, waiting (up to 10 s) until there
// are n: on Postgres an event becomes readable only once every older
// transaction of the cluster has ended, and parallel tests run some.
func readN(t *testing.T, l *events.Log, after events.Cursor, f events.Filter, limit, n int) []events.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := readAll(t, l, after, f, limit)
		if len(evs) >= n || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readAll(t *testing.T, l *events.Log, after events.Cursor, f events.Filter, limit int) []events.Event {
	t.Helper()
	var all []events.Event
	for {
		evs, err := l.Read(context.Background(), after, f, limit)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		all = append(all, evs...)
		if len(evs) < limit {
			return all
		}
		after = evs[len(evs)-1].Cursor
	}
}

func TestEmitAndRead(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		l, db := setup(t, s, events.Options{})
		var committed []events.Event
		l.OnCommit(func(e events.Event) { committed = append(committed, e) })

		before := time.Now().Add(-time.Second)
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(tx.Context(), "INSERT INTO testapp_items (id) VALUES (?)", "a"); err != nil {
				return err
			}
			return l.Emit(tx.Context(), tx, events.Event{Type: "testapp.item.created", OrgID: "org1", Subject: "a",
				Payload: json.RawMessage(`{"name":"A"}`)})
		})
		if err != nil {
			t.Fatal(err)
		}
		emit(t, l, db, events.Event{App: "testapp", Type: "testapp.item.deleted", OrgID: "org1", Subject: "a"})

		// A rolled-back transaction leaves no event and calls no listener.
		boom := errors.New("boom")
		err = db.InTx(ctx, func(tx *store.Tx) error {
			if err := l.Emit(tx.Context(), tx, events.Event{Type: "testapp.item.created"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}

		evs := readN(t, l, "", events.Filter{}, 10, 2)
		if len(evs) != 2 {
			t.Fatalf("read %d events, want 2: %+v", len(evs), evs)
		}
		e := evs[0]
		if e.Type != "testapp.item.created" || e.App != "testapp" || e.OrgID != "org1" || e.Subject != "a" ||
			string(e.Payload) != `{"name":"A"}` || len(e.ID) != 36 || e.Time.Before(before) || e.Time.Location() != time.UTC {
			t.Errorf("event = %+v", e)
		}
		if string(evs[1].Payload) != "{}" {
			t.Errorf("empty payload stored as %q, want {}", evs[1].Payload)
		}
		if events.CompareCursor(evs[0].Cursor, evs[1].Cursor) >= 0 || events.CompareCursor("", evs[0].Cursor) >= 0 {
			t.Errorf("cursors out of order: %q, %q", evs[0].Cursor, evs[1].Cursor)
		}
		if len(committed) != 2 || committed[0].ID != evs[0].ID || committed[1].Cursor != evs[1].Cursor {
			t.Errorf("OnCommit saw %+v, want the two committed events with their cursors", committed)
		}
		if evs, err := l.Read(ctx, evs[1].Cursor, events.Filter{}, 10); err != nil || len(evs) != 0 {
			t.Errorf("Read after the last = %v, %v; want nothing", evs, err)
		}
		latest, err := l.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if events.CompareCursor(latest, evs[1].Cursor) < 0 {
			t.Errorf("Latest %q is before the last event %q", latest, evs[1].Cursor)
		}
		emit(t, l, db, events.Event{Type: "testapp.item.created", Subject: "b"})
		if evs := readN(t, l, latest, events.Filter{}, 10, 1); len(evs) != 1 || evs[0].Subject != "b" {
			t.Errorf("Read(Latest) = %+v, want the one event emitted since", evs)
		}
	})
}

func TestEmitValidates(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		l, db := setup(t, s, events.Options{})
		for _, e := range []events.Event{
			{Type: "testapp.item"},
			{Type: "TestApp.item.created"},
			{Type: "testapp.item.created.now"},
			{Type: "testapp..created"},
			{App: "other", Type: "testapp.item.created"},
			{Type: "testapp.item.created", Payload: json.RawMessage(`[1]`)},
			{Type: "testapp.item.created", Payload: json.RawMessage(`{"a":`)},
			{Type: "testapp.item.created", Payload: json.RawMessage(`"x"`)},
		} {
			err := db.InTx(context.Background(), func(tx *store.Tx) error { return l.Emit(tx.Context(), tx, e) })
			if !fault.Is(err, fault.Invalid) {
				t.Errorf("Emit(%+v) = %v, want invalid", e, err)
			}
		}
		if evs := readAll(t, l, "", events.Filter{}, 10); len(evs) != 0 {
			t.Errorf("invalid events were stored: %+v", evs)
		}
		if _, err := l.Read(context.Background(), "nonsense", events.Filter{}, 1); !fault.Is(err, fault.Invalid) {
			t.Errorf("Read(malformed cursor) = %v, want invalid", err)
		}
	})
}

func TestReadFilter(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var clock atomic.Int64
		clock.Store(now.UnixMicro())
		l, db := setup(t, s, events.Options{Now: func() time.Time { return time.UnixMicro(clock.Load()) }})
		for i := range 30 {
			clock.Store(now.Add(time.Duration(i) * time.Minute).UnixMicro())
			emit(t, l, db, events.Event{
				Type:    []string{"testapp.item.created", "testapp.item.updated", "testapp.item.deleted"}[i%3],
				OrgID:   fmt.Sprintf("org%d", i%2),
				Subject: fmt.Sprintf("s%d", i%5),
				Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)),
			})
		}
		readN(t, l, "", events.Filter{}, 100, 30)
		check := func(name string, f events.Filter, want func(i int) bool) {
			t.Helper()
			got := readAll(t, l, "", f, 4) // pages of 4
			var wantN int
			for i := range 30 {
				if want(i) {
					wantN++
				}
			}
			if len(got) != wantN {
				t.Fatalf("%s: %d events, want %d", name, len(got), wantN)
			}
			last := -1
			for _, e := range got {
				var p struct{ I int }
				if err := json.Unmarshal(e.Payload, &p); err != nil {
					t.Fatal(err)
				}
				if !want(p.I) || p.I <= last {
					t.Errorf("%s: got event %d (after %d)", name, p.I, last)
				}
				last = p.I
			}
		}
		check("all", events.Filter{}, func(int) bool { return true })
		check("app", events.Filter{App: "testapp"}, func(int) bool { return true })
		check("other app", events.Filter{App: "other"}, func(int) bool { return false })
		check("org", events.Filter{OrgID: "org1"}, func(i int) bool { return i%2 == 1 })
		check("types", events.Filter{Types: []string{"testapp.item.created", "testapp.item.deleted"}},
			func(i int) bool { return i%3 != 1 })
		check("subject+org", events.Filter{Subject: "s3", OrgID: "org1"}, func(i int) bool { return i%5 == 3 && i%2 == 1 })
		check("time range", events.Filter{Since: now.Add(10 * time.Minute), Until: now.Add(20 * time.Minute)},
			func(i int) bool { return i >= 10 && i < 20 })
	})
}

func TestPurgeAndResync(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		start := time.Now().UTC()
		var clock atomic.Int64
		clock.Store(start.UnixMicro())
		l, db := setup(t, s, events.Options{Retention: time.Hour,
			Now: func() time.Time { return time.UnixMicro(clock.Load()) }})
		for i := range 10 {
			clock.Store(start.Add(time.Duration(i) * 10 * time.Minute).UnixMicro()) // 0, 10, …, 90 min
			emit(t, l, db, events.Event{Type: "testapp.item.created", Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))})
		}
		all := readN(t, l, "", events.Filter{}, 100, 10)
		// At 125 min, events older than 65 min (0…60) go: 7 of them.
		clock.Store(start.Add(125 * time.Minute).UnixMicro())
		n, err := l.Purge(ctx)
		if err != nil || n != 7 {
			t.Fatalf("Purge = %d, %v; want 7", n, err)
		}
		if n, err := l.Purge(ctx); err != nil || n != 0 {
			t.Fatalf("second Purge = %d, %v; want 0", n, err)
		}
		if _, err := l.Read(ctx, all[5].Cursor, events.Filter{}, 10); !errors.Is(err, events.ErrResyncRequired) {
			t.Errorf("Read from a purged cursor = %v, want ErrResyncRequired", err)
		}
		// The newest purged event's cursor is still fine: nothing after it is gone.
		if evs, err := l.Read(ctx, all[6].Cursor, events.Filter{}, 10); err != nil || len(evs) != 3 || evs[0].ID != all[7].ID {
			t.Errorf("Read from the horizon = %d events, %v; want the 3 retained", len(evs), err)
		}
		if evs, err := l.Read(ctx, "", events.Filter{}, 10); err != nil || len(evs) != 3 {
			t.Errorf("Read from the start = %d events, %v; want the 3 retained", len(evs), err)
		}
		// Purge everything: Latest stays at the horizon, and is not "resync".
		clock.Store(start.Add(10 * time.Hour).UnixMicro())
		if n, err := l.Purge(ctx); err != nil || n != 3 {
			t.Fatalf("Purge = %d, %v; want 3", n, err)
		}
		latest, err := l.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if events.CompareCursor(latest, all[9].Cursor) < 0 {
			t.Errorf("Latest after a full purge = %q, before the last purged %q", latest, all[9].Cursor)
		}
		if _, err := l.Read(ctx, latest, events.Filter{}, 10); err != nil {
			t.Errorf("Read(Latest) after a full purge = %v", err)
		}
		emit(t, l, db, events.Event{Type: "testapp.item.created"})
		if evs := readN(t, l, latest, events.Filter{}, 10, 1); len(evs) != 1 ||
			events.CompareCursor(evs[0].Cursor, all[9].Cursor) <= 0 {
			t.Errorf("after a full purge a new event = %+v; want one, after every purged one", evs)
		}
	})
}

// TestConcurrentTail is the commit-order proof: many writers, some holding
// their transaction open so that they commit after later writers, and some
// rolling back, while a tailer reads from its last cursor. The tailer must
// see every committed event exactly once, in increasing cursor order.
func TestConcurrentTail(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		l, db := setup(t, s, events.Options{})
		const writers, perWriter = 8, 40

		var mu sync.Mutex
		committed := map[string]bool{}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 1)) //nolint:gosec // test jitter
				for i := range perWriter {
					rollback := r.IntN(10) == 0
					err := db.InTx(ctx, func(tx *store.Tx) error {
						e := events.Event{Type: "testapp.item.created", Payload: json.RawMessage(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))}
						if err := l.Emit(tx.Context(), tx, e); err != nil {
							return err
						}
						// Hold some transactions open so they commit late. On
						// SQLite this only serializes the writers.
						switch r.IntN(8) {
						case 0:
							time.Sleep(30 * time.Millisecond)
						case 1, 2:
							time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
						}
						if rollback {
							return errRollback
						}
						return nil
					})
					switch {
					case rollback && errors.Is(err, errRollback):
					case err != nil:
						t.Errorf("writer %d: %v", w, err)
						return
					}
					if !rollback {
						// The payload identifies the event: the ID is set inside Emit.
						mu.Lock()
						committed[fmt.Sprintf(`{"w":%d,"i":%d}`, w, i)] = true
						mu.Unlock()
					}
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		defer func() { <-done }() // a failing tailer still waits for the writers

		seen := map[string]bool{}
		var cursor events.Cursor
		reads := 0
		// The negative control: a naive tailer of seq > last, which the
		// late committers make skip events on Postgres.
		naive := map[string]bool{}
		var naiveLast int64
		naiveTail := func() {
			rows, err := s.App("platform").Query(ctx, "SELECT seq, payload FROM platform_events WHERE seq > ? ORDER BY seq LIMIT 7", naiveLast)
			if err != nil {
				t.Fatalf("naive read: %v", err)
			}
			defer rows.Close()
			for rows.Next() {
				var p string
				if err := rows.Scan(&naiveLast, &p); err != nil {
					t.Fatal(err)
				}
				naive[p] = true
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
		}
		tail := func() {
			evs, err := l.Read(ctx, cursor, events.Filter{}, 7)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			reads++
			for _, e := range evs {
				if events.CompareCursor(e.Cursor, cursor) <= 0 {
					t.Fatalf("cursor went back: %q after %q", e.Cursor, cursor)
				}
				cursor = e.Cursor
				if seen[string(e.Payload)] {
					t.Fatalf("event %s seen twice", e.Payload)
				}
				seen[string(e.Payload)] = true
			}
		}
	loop:
		for {
			select {
			case <-done:
				break loop
			default:
				tail()
				naiveTail()
			}
		}
		// Writers are done: drain what is left.
		for range 100 {
			before := len(seen)
			tail()
			if len(seen) == before && len(seen) >= len(committed) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if len(seen) != len(committed) {
			t.Fatalf("tailer saw %d events, %d committed", len(seen), len(committed))
		}
		for k := range committed {
			if !seen[k] {
				t.Errorf("committed event %s never seen", k)
			}
		}
		if reads < 10 {
			t.Errorf("only %d reads: the tailer did not run concurrently", reads)
		}
		for range 10 {
			naiveTail()
		}
		t.Logf("%d events committed, %d reads; a naive seq > last tailer missed %d", len(committed), reads, len(committed)-len(naive))
	})
}

var errRollback = errors.New("rollback")

// TestRecordAll: a batch of events recorded at once (several multi-row
// statements) comes back in order with the cursors the log reads them at.
func TestRecordAll(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		l, db := setup(t, s, events.Options{})
		in := make([]events.Event, 100) // chunks of 64, 32 and 4
		for i := range in {
			in[i] = events.Event{Type: "testapp.item.created", OrgID: "org1", Subject: strconv.Itoa(i)}
		}
		var out []events.Event
		err := db.InTx(ctx, func(tx *store.Tx) error {
			var err error
			out, err = l.RecordAll(tx.Context(), tx, in)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []events.Event
		deadline := time.Now().Add(10 * time.Second)
		for len(got) < len(in) && time.Now().Before(deadline) { // Postgres: readable once older transactions end
			got = readAll(t, l, "", events.Filter{}, 1000)
		}
		if len(got) != len(in) {
			t.Fatalf("read %d events, want %d", len(got), len(in))
		}
		for i := range in {
			if out[i].Subject != strconv.Itoa(i) || got[i].ID != out[i].ID || got[i].Cursor != out[i].Cursor {
				t.Fatalf("event %d: recorded %+v, read %+v", i, out[i], got[i])
			}
		}
		if _, err := l.RecordAll(ctx, nil, []events.Event{{Type: "Bad Type"}}); !fault.Is(err, fault.Invalid) {
			t.Fatalf("an invalid event: %v", err)
		}
	})
}
