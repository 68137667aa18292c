package servicetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/tessera-dev/tessera/internal/platform/servicetest"
)

// TestPostgres: the private server answers on its DSN, refuses connections
// while stopped, and keeps its data across a stop and start and a restart.
func TestPostgres(t *testing.T) {
	t.Parallel()
	pg := servicetest.StartPostgres(t)
	exec(t, pg.DSN(), "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
	pg.Stop()
	if conn, err := connect(pg.DSN()); err == nil {
		_ = conn.Close(context.Background())
		t.Fatal("connected to a stopped server")
	}
	pg.Start()
	pg.Restart()
	exec(t, pg.DSN(), "SELECT 1 FROM kept WHERE v = 7")
}

// TestRedis: the private server answers on its URL, not while stopped, and
// again on the same port after Start and Restart.
func TestRedis(t *testing.T) {
	t.Parallel()
	r := servicetest.StartRedis(t)
	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxRetries = -1
	c := redis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("a stopped server answered PING")
	}
	r.Start()
	r.Restart()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}

func connect(dsn string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return pgx.Connect(ctx, dsn)
}

func exec(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := connect(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}
