package records

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
	"github.com/tessera-dev/tessera/internal/platform/blob"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// Options configure a Service.
type Options struct {
	// ConfigPath is the config.json Reload reads ("" is the embedded
	// default).
	ConfigPath string
	// Force applies configs that drop types which still have records.
	Force bool
	Log   *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// maxBatch bounds the creates of one group commit.
const maxBatch = 256

// Service is the records app: records of the configured types in the
// caller's org, their actions and the admin's view of every org.
type Service struct {
	db     *store.DB
	writes *store.GroupCommit // creates, gathered into group commits
	events *events.Log
	blobs  blob.Store
	opts   Options
	log    *slog.Logger
	// cur is the config in force; Apply replaces it whole, under applyMu
	// (so two reloads never interleave their checks and index builds).
	cur     atomic.Pointer[schema.Schema]
	applyMu sync.Mutex
}

// NewService returns the service on db. Apply a config before serving.
func NewService(db *store.DB, evs *events.Log, blobs blob.Store, opts Options) *Service {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, writes: store.NewGroupCommit(db, store.Serializable, maxBatch), events: evs, blobs: blobs, opts: opts, log: opts.Log}
}

func (s *Service) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}
