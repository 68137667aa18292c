package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

// BenchmarkSQLiteCommit measures one small write transaction (InTx with one
// INSERT) per op, under synchronous=NORMAL and FULL, from one goroutine and
// from many at once (GOMAXPROCS × 4 goroutines sharing the writer).
//
//	go test -run '^$' -bench SQLiteCommit -benchtime 3s ./internal/platform/store/
func BenchmarkSQLiteCommit(b *testing.B) {
	for _, sync := range []string{synchronousNormal, synchronousFull} {
		b.Run("synchronous="+sync+"/serial", func(b *testing.B) {
			db := benchDB(b, sync)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				benchInsert(b, ctx, db, int64(i))
			}
		})
		b.Run("synchronous="+sync+"/parallel", func(b *testing.B) {
			db := benchDB(b, sync)
			ctx := context.Background()
			var next atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchInsert(b, ctx, db, next.Add(1))
				}
			})
		})
	}
}

func benchInsert(b *testing.B, ctx context.Context, db *DB, id int64) {
	err := db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO bench_rows (id, body) VALUES (?, ?)", id, "a small payload of some forty bytes....")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

func benchDB(b *testing.B, synchronous string) *DB {
	ctx := context.Background()
	be, err := openSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"), synchronous)
	if err != nil {
		b.Fatal(err)
	}
	s := newStore(Options{})
	s.engine, s.backend = EngineSQLite, be
	b.Cleanup(func() { _ = s.Close() })
	set := MigrationSet{Schema: "bench", FS: fstest.MapFS{"0001_init.sql": {Data: []byte(
		"-- +goose Up\nCREATE TABLE bench_rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n")}}}
	if err := s.Migrate(ctx, set); err != nil {
		b.Fatal(fmt.Errorf("migrate: %w", err))
	}
	return s.App("bench")
}
