// Package idempotency makes creates safe to retry, as the contract asks of
// every HTTP API: a POST carrying an Idempotency-Key header that is sent again
// (same caller, same key, same request) gets the first answer back, marked
// Idempotent-Replayed: true, and creates nothing twice.
//
// The middleware runs after the authorizer: keys are kept per caller (its
// credential kind, user or admin key, and org), so two callers never see
// each other's answers; anonymous requests are not remembered. The first
// request claims the key (a row "in progress"); a concurrent duplicate gets
// 409 with Retry-After; the answer is stored when it is a success (2xx) and
// the claim is dropped otherwise, so a failed create can be retried. The
// same key with a different request (method, path, query or body) is 422.
// Requests or answers over 1 MiB (uploads) pass through unremembered. A
// success marked Cache-Control: no-store (it holds a secret, such as a new
// admin key's) is not kept either: its key is marked applied, and a retry
// gets 409 instead of running twice or replaying the secret. Keys
// are kept 24 hours (Purge); a claim left by a crashed node is taken over
// after a minute.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Schema is the store schema of the keys.
const Schema = "idempotency"

// Header is the request header; ReplayedHeader marks a replayed answer.
const (
	Header         = "Idempotency-Key"
	ReplayedHeader = "Idempotent-Replayed"
)

const (
	maxKeyLen    = 255
	maxBody      = 1 << 20          // requests and answers over this are not remembered
	keep         = 24 * time.Hour   // how long a key is remembered
	abandonAfter = 1 * time.Minute  // a claim older than this was left by a crashed node
	storeTimeout = 10 * time.Second // bound on recording an answer
	inProgress   = 0                // the status of a claimed key
	withheld     = -1               // the status of a success whose answer is not kept (no-store)
)

// Migrations returns the migration set of the keys' table.
func Migrations() store.MigrationSet {
	return store.Embedded(Schema, migrationFiles, "migrations")
}

// Keys remembers the idempotency keys of one store. It is safe for
// concurrent use.
type Keys struct {
	db  *store.DB
	log *slog.Logger
	now func() time.Time
	// mark is the statement that sets committed from an app's transaction:
	// on Postgres the app's role has its own search_path, so the table is
	// named with its schema.
	mark string
}

// New returns the keys of st (migrated with Migrations).
func New(st *store.Store, log *slog.Logger) *Keys {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	table := "idempotency_keys"
	if st.Engine() == store.EnginePostgres {
		table = Schema + "." + table
	}
	return &Keys{db: st.App(Schema), log: log, now: time.Now,
		mark: "UPDATE " + table + " SET committed = 1 WHERE scope = ? AND key = ? AND created_at = ?"}
}

// Middleware serves next with idempotency keys honoured on POST requests.
// Install it behind the authorizer (it reads the principal).
func (k *Keys) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(Header)
		if r.Method != http.MethodPost || key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !validKey(key) {
			httpapi.WriteProblem(w, r, &fault.Error{Code: fault.Malformed, Message: "invalid Idempotency-Key",
				Fields: []fault.FieldError{{Location: "header." + Header, Message: "1 to 255 visible ASCII characters"}}})
			return
		}
		p, ok := authz.FromContext(r.Context())
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		body, whole, err := readUpTo(r.Body, maxBody)
		if err != nil {
			httpapi.WriteProblem(w, r, fault.Wrap(err, fault.Malformed, "could not read the request body"))
			return
		}
		if !whole { // too large to remember: served as it is
			r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
			next.ServeHTTP(w, r)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		scope := string(p.Via) + ":" + p.UserID + ":" + p.ClientID + ":" + p.OrgID
		fp := fingerprint(r, body)
		prior, claimedAt, claimed, err := k.claim(r.Context(), scope, key, fp)
		switch {
		case err != nil:
			if errors.Is(err, errInProgress) {
				w.Header().Set("Retry-After", "1") // the first request is still running
			}
			httpapi.WriteProblem(w, r, err)
		case !claimed:
			replay(w, r, prior)
		default:
			ref := claimRef{scope, key, claimedAt}
			rec := &recorder{ResponseWriter: w}
			next.ServeHTTP(rec, r.WithContext(store.WithCommitHook(r.Context(), k.markCommitted(ref))))
			k.finish(ref, rec)
		}
	})
}

func validKey(key string) bool {
	if len(key) > maxKeyLen {
		return false
	}
	for i := range len(key) {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// readUpTo reads at most limit bytes; whole is false when there is more.
func readUpTo(r io.Reader, limit int) (b []byte, whole bool, err error) {
	b, err = io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, false, fmt.Errorf("idempotency: read body: %w", err)
	}
	if len(b) > limit {
		return b, false, nil
	}
	return b, true, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// fingerprint identifies the request a key was used for.
func fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s?%s\n%s\n", r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// answer is a remembered response.
type answer struct {
	fingerprint string
	status      int
	contentType string
	location    string
	body        []byte
	createdAt   int64
	committed   bool
}

// claim takes the key for this request (the claim's created_at is
// claimedAt), or returns the answer it already has. Errors: 422 when the key
// was used for another request, 409 while the first request is in progress.
func (k *Keys) claim(ctx context.Context, scope, key, fp string) (prior answer, claimedAt int64, claimed bool, err error) {
	now := k.now().UnixMicro()
	err = k.db.InTx(ctx, func(tx *store.Tx) error {
		claimed = false
		a, found, err := get(ctx, tx, scope, key)
		if err != nil {
			return err
		}
		expired := found && a.createdAt < now-keep.Microseconds()
		abandoned := found && a.status == inProgress && a.createdAt < now-abandonAfter.Microseconds()
		stale := expired || (abandoned && !a.committed)
		switch {
		case !found:
			_, err = tx.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, fingerprint, status, created_at)
				VALUES (?, ?, ?, ?, ?)`, scope, key, fp, inProgress, now)
		case stale:
			_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET fingerprint = ?, status = ?, content_type = '', location = '',
				body = NULL, created_at = ?, committed = 0 WHERE scope = ? AND key = ?`, fp, inProgress, now, scope, key)
		case a.fingerprint != fp:
			return fault.WithFields("this Idempotency-Key was used for a different request", fault.FieldError{
				Location: "header." + Header, Message: "use a new key for a new request"})
		case abandoned:
			return errAnswerLost
		case a.status == inProgress:
			return errInProgress
		case a.status == withheld:
			return errAnswerWithheld
		default:
			prior = a
			return nil
		}
		if err != nil {
			return store.Normalize(err)
		}
		claimed = true
		return nil
	})
	return prior, now, claimed, err
}

func get(ctx context.Context, q store.Querier, scope, key string) (answer, bool, error) {
	var a answer
	err := q.QueryRow(ctx, `SELECT fingerprint, status, content_type, location, body, created_at, committed != 0 FROM idempotency_keys
		WHERE scope = ? AND key = ?`, scope, key).Scan(&a.fingerprint, &a.status, &a.contentType, &a.location, &a.body, &a.createdAt, &a.committed)
	if errors.Is(err, sql.ErrNoRows) {
		return answer{}, false, nil
	}
	if err != nil {
		return answer{}, false, store.Normalize(err)
	}
	return a, true, nil
}

// The answers of claim to a key whose request has not answered.
var (
	// errInProgress: the first request is still running (sent with
	// Retry-After: 1).
	errInProgress = fault.New(fault.Conflict, "a request with this Idempotency-Key is in progress")
	// errAnswerLost: the first request's work committed, but the node
	// serving it stopped before its answer was stored. Running it again
	// would apply it twice.
	errAnswerLost = fault.New(fault.Conflict, "the request with this Idempotency-Key was applied, but its answer was lost "+
		"when the server handling it stopped: read the resource instead of retrying")
	// errAnswerWithheld: the first request succeeded, but its answer held
	// a secret (Cache-Control: no-store) and was not kept.
	errAnswerWithheld = fault.New(fault.Conflict, "the request with this Idempotency-Key was applied; its answer held a secret "+
		"and is not kept: read the resource instead of retrying")
)

// noStore reports whether an answer's Cache-Control forbids keeping it.
func noStore(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-store") {
				return true
			}
		}
	}
	return false
}

// markCommitted is the commit hook of a claimed request: it sets the
// claim's committed flag in each of the request's transactions.
func (k *Keys) markCommitted(c claimRef) func(tx *store.Tx) error {
	return func(tx *store.Tx) error {
		_, err := tx.Exec(tx.Context(), k.mark, c.scope, c.key, c.createdAt)
		return err
	}
}

// claimRef names one claim: the key and the claim's created_at, so that a
// late write never touches a newer claim of the same key.
type claimRef struct {
	scope, key string
	createdAt  int64
}

// finish stores a successful answer, or drops the claim so that the request
// can be retried. The response is already written; when the database is
// unreachable (a restart), finish keeps trying in the background, with
// back-off, until the claim would be taken over anyway (abandonAfter):
// without that, retries of the key would get 409 for a minute after the
// database came back, and a success whose answer was never stored could run
// twice.
func (k *Keys) finish(c claimRef, rec *recorder) {
	var query string
	var args []any
	success := rec.status() >= 200 && rec.status() < 300
	switch {
	case success && noStore(rec.Header()):
		query = `UPDATE idempotency_keys SET status = ?, content_type = '', location = '', body = NULL
			WHERE scope = ? AND key = ? AND created_at = ?`
		args = []any{withheld}
	case success && !rec.overflow:
		query = `UPDATE idempotency_keys SET status = ?, content_type = ?, location = ?, body = ?
			WHERE scope = ? AND key = ? AND created_at = ?`
		args = []any{rec.status(), rec.Header().Get("Content-Type"), rec.Header().Get("Location"), rec.body.Bytes()}
	default:
		query = "DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND created_at = ?"
	}
	args = append(args, c.scope, c.key, c.createdAt)
	err := k.exec(query, args)
	if err == nil {
		return
	}
	if !fault.Is(err, fault.Unavailable) {
		k.log.Warn("idempotency: could not record the answer", "error", err)
		return
	}
	go k.retry(c, query, args)
}

// retry runs a finishing write until it succeeds, fails for another reason
// than an unreachable database, or the claim is older than abandonAfter.
// The goroutine is its own owner and ends by that deadline.
func (k *Keys) retry(c claimRef, query string, args []any) {
	deadline := time.UnixMicro(c.createdAt).Add(abandonAfter)
	pause := 100 * time.Millisecond
	for {
		time.Sleep(pause)
		err := k.exec(query, args)
		switch {
		case err == nil:
			return
		case !fault.Is(err, fault.Unavailable) || k.now().Add(pause).After(deadline):
			k.log.Warn("idempotency: gave up recording the answer", "error", err)
			return
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// exec runs one finishing write, bounded by storeTimeout.
func (k *Keys) exec(query string, args []any) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	_, err := k.db.Exec(ctx, query, args...)
	return store.Normalize(err)
}

// replay writes a remembered answer.
func replay(w http.ResponseWriter, r *http.Request, a answer) {
	h := w.Header()
	if a.contentType != "" {
		h.Set("Content-Type", a.contentType)
	}
	if a.location != "" {
		h.Set("Location", a.location)
	}
	h.Set(ReplayedHeader, "true")
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
}

// Purge forgets keys older than 24 hours; it returns how many.
func (k *Keys) Purge(ctx context.Context) (int64, error) {
	res, err := k.db.Exec(ctx, "DELETE FROM idempotency_keys WHERE created_at < ?", k.now().Add(-keep).UnixMicro())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// recorder passes a response through and keeps a copy of it (up to
// maxBody; overflow marks a larger one, which is not remembered).
type recorder struct {
	http.ResponseWriter
	code     int
	body     bytes.Buffer
	overflow bool
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if !r.overflow {
		if r.body.Len()+len(b) > maxBody {
			r.overflow = true
			r.body.Reset()
		} else {
			r.body.Write(b)
		}
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
