package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/redis/go-redis/v9"
)

// The S3 store the runner starts: versitygw on 127.0.0.1 over a directory
// of development data, with fixed keys.
const (
	Bucket      = "tessera"
	S3AccessKey = "tessera"
	S3SecretKey = "tessera-dev-secret" //nolint:gosec // G101: the fixed key of a local development store
	s3Region    = "us-east-1"
)

// serviceTimeout bounds the start of Postgres, Redis and versitygw.
const serviceTimeout = 30 * time.Second

// versitygwInstall is how to install the S3 gateway the runner starts.
const versitygwInstall = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// S3 is an S3-compatible store: URL is the nodes' blobs setting
// (s3://bucket?endpoint=http://host:port&region=…).
type S3 struct {
	URL       string
	AccessKey string
	SecretKey string
}

// startPostgres makes sure Postgres answers at dsn, starting the
// machine's cluster with pg_ctlcluster when the URL is the default local
// one and nothing answers, and creates the database when it is missing.
func (c *Cluster) startPostgres(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	err = createDatabase(ctx, admin.String(), name)
	var ce *pgconn.ConnectError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &ce) || !defaultLocalPostgres(u):
		return fmt.Errorf("postgres %s: %w", u.Redacted(), err)
	}
	version, err := postgresVersion()
	if err != nil {
		return fmt.Errorf("postgres %s does not answer and cannot be started: %w", u.Redacted(), err)
	}
	// pg_ctlcluster waits until the server accepts connections.
	if err := pgctl(ctx, version, "start"); err != nil {
		return err
	}
	c.started("postgres", func() error { return pgctl(context.Background(), version, "stop") })
	if err := createDatabase(ctx, admin.String(), name); err != nil {
		return fmt.Errorf("postgres %s: %w", u.Redacted(), err)
	}
	return nil
}

// defaultLocalPostgres reports whether u is the machine's own Postgres on
// the default port, the one pg_ctlcluster starts.
func defaultLocalPostgres(u *url.URL) bool {
	return localHost(u.Hostname()) && (u.Port() == "" || u.Port() == "5432")
}

// postgresVersion returns the one Postgres version configured under
// /etc/postgresql (Debian's layout).
func postgresVersion() (string, error) {
	entries, err := os.ReadDir("/etc/postgresql")
	if err != nil {
		return "", fmt.Errorf("no /etc/postgresql: %w", err)
	}
	if len(entries) != 1 {
		return "", fmt.Errorf("want one version under /etc/postgresql, found %d: start Postgres yourself", len(entries))
	}
	return entries[0].Name(), nil
}

// pgctl runs pg_ctlcluster's action (start or stop) on the main cluster of
// version.
func pgctl(ctx context.Context, version, action string) error {
	out, err := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action).CombinedOutput() //nolint:gosec // G204: a version read from /etc/postgresql
	if err != nil {
		return fmt.Errorf("pg_ctlcluster %s main %s: %w: %s", version, action, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// createDatabase connects to adminURL and creates the database name unless
// it exists. A server that does not answer is a *pgconn.ConnectError.
func createDatabase(ctx context.Context, adminURL, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P04" { // duplicate_database: created meanwhile
		return nil
	}
	return err
}

// startRedis makes sure Redis answers at rawURL, starting redis-server on
// its port (stopped by Stop) when the URL is local and nothing answers.
func (c *Cluster) startRedis(ctx context.Context, rawURL string) error {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return err
	}
	if pingRedis(ctx, opts) == nil {
		return nil
	}
	host, port, err := net.SplitHostPort(opts.Addr)
	if err != nil || !localHost(host) {
		return fmt.Errorf("redis at %s does not answer", opts.Addr)
	}
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("redis at %s does not answer and redis-server is not installed", opts.Addr)
	}
	// Redis only carries wake-ups and rate limits here: nothing to persist.
	cmd := exec.CommandContext(context.Background(), path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no") //nolint:gosec // G204: redis-server from PATH
	p, err := startProcess("redis-server", cmd, c.logPath("redis"))
	if err != nil {
		return err
	}
	c.started("redis-server", p.stop)
	return p.waitFor(ctx, serviceTimeout, func(ctx context.Context) error { return pingRedis(ctx, opts) })
}

// pingRedis reports whether Redis answers with opts. A port that refuses
// is found by a plain connection first: the Redis client logs its own
// failed dials, noise while a redis-server starts.
func pingRedis(ctx context.Context, opts *redis.Options) error {
	network := opts.Network
	if network == "" {
		network = "tcp"
	}
	conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, network, opts.Addr)
	if err != nil {
		return err
	}
	_ = conn.Close()
	o := *opts
	o.MaxRetries = -1
	o.DialTimeout = time.Second
	client := redis.NewClient(&o)
	defer func() { _ = client.Close() }()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return client.Ping(ctx).Err()
}

// localHost reports whether host names this machine.
func localHost(host string) bool {
	return host == "127.0.0.1" || host == "localhost" || host == "::1"
}

// LookVersitygw returns the path of the versitygw binary: on PATH, else in
// $GOPATH/bin (where go install puts it), else an error telling how to
// install it.
func LookVersitygw() (string, error) {
	if path, err := exec.LookPath("versitygw"); err == nil {
		return path, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		path := filepath.Join(dir, "bin", "versitygw")
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", errors.New("versitygw (the S3 store) not found on PATH or in $GOPATH/bin: install it with " + versitygwInstall)
}

// startS3 runs versitygw over <dir>/s3 on a free port (stopped by Stop) and
// makes sure the bucket exists; with an s3 store given, it only does the
// latter.
func (c *Cluster) startS3(ctx context.Context, given *S3) error {
	if given != nil {
		c.S3 = *given
		return ensureBucket(ctx, c.S3)
	}
	bin, err := LookVersitygw()
	if err != nil {
		return err
	}
	addr, err := freeAddr(ctx)
	if err != nil {
		return err
	}
	dir := filepath.Join(c.Dir, "s3")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	cmd := exec.CommandContext(context.Background(), bin, "--quiet", "--port", addr, "posix", dir) //nolint:gosec // G204: versitygw found by LookVersitygw
	// Only the keys: no VGW_* setting of the caller's changes this store.
	cmd.Env = []string{"ROOT_ACCESS_KEY=" + S3AccessKey, "ROOT_SECRET_KEY=" + S3SecretKey}
	p, err := startProcess("versitygw", cmd, c.logPath("versitygw"))
	if err != nil {
		return err
	}
	c.started("versitygw", p.stop)
	c.S3 = S3{URL: fmt.Sprintf("s3://%s?endpoint=http://%s&region=%s", Bucket, addr, s3Region), AccessKey: S3AccessKey, SecretKey: S3SecretKey}
	return p.waitFor(ctx, serviceTimeout, func(ctx context.Context) error { return ensureBucket(ctx, c.S3) })
}

// ensureBucket creates the bucket of s unless it exists: the node's S3
// store does not create it (its /readyz fails without it).
func ensureBucket(ctx context.Context, s S3) error {
	u, err := url.Parse(s.URL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return fmt.Errorf("s3: %q: want s3://bucket?endpoint=http://host:port&region=…", s.URL)
	}
	ep, err := url.Parse(u.Query().Get("endpoint"))
	if err != nil || ep.Host == "" {
		return fmt.Errorf("s3: %q: want an endpoint=http://host:port parameter", s.URL)
	}
	region := u.Query().Get("region")
	client, err := minio.New(ep.Host, &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Secure: ep.Scheme == "https",
		Region: region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	ok, err := client.BucketExists(ctx, u.Host)
	if err != nil {
		return fmt.Errorf("s3: bucket %s: %w", u.Host, err)
	}
	if ok {
		return nil
	}
	if err := client.MakeBucket(ctx, u.Host, minio.MakeBucketOptions{Region: region}); err != nil {
		return fmt.Errorf("s3: make bucket %s: %w", u.Host, err)
	}
	return nil
}

// freeAddr returns a 127.0.0.1 address with a port free at the time.
func freeAddr(ctx context.Context) (string, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
