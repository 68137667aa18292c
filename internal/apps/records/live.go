package records

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// The config in force: loaded at start, replaced as a whole on SIGHUP
// (Service.Reload). Requests read it once (Service.schema) and use that
// snapshot throughout, so a reload never mixes two configs in one request.

// LoadSchema reads the config file at path ("" is the embedded default).
func LoadSchema(path string) (*schema.Schema, error) {
	if path == "" {
		return schema.Default(), nil
	}
	data, err := os.ReadFile(path) //nolint:gosec // G304: the operator's configured file
	if err != nil {
		return nil, &config.Error{Key: "records.config", Msg: err.Error()}
	}
	sc, err := schema.Parse(data)
	if err != nil {
		return nil, &config.Error{Key: "records.config", Msg: path + ": " + err.Error()}
	}
	return sc, nil
}

// schema returns the config in force.
func (s *Service) schema() *schema.Schema { return s.cur.Load() }

// Apply makes sc the config in force, after checking it against the
// stored records: a config that drops a type that still has records is
// refused unless force (the records are kept either way, and reachable
// from the admin API). It creates the indexes sc needs.
func (s *Service) Apply(ctx context.Context, sc *schema.Schema, force bool) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	orphans, err := s.orphanTypes(ctx, sc)
	if err != nil {
		return err
	}
	if len(orphans) > 0 {
		if !force {
			return &config.Error{Key: "records.config", Msg: "the config drops type(s) that still have records: " + strings.Join(orphans, ", ") +
				"; put them back, or start with --records-force to keep those records unreachable (they are never deleted)"}
		}
		s.log.WarnContext(ctx, "records: types dropped by the config still have records, kept and reachable only from /admin/records/records",
			"types", orphans)
	}
	if err := ensureIndexes(ctx, s.db, sc); err != nil {
		return err
	}
	s.cur.Store(sc)
	return nil
}

// Reload reads the config file again and applies it (SIGHUP). On any
// problem the config in force stays.
func (s *Service) Reload(ctx context.Context) error {
	sc, err := LoadSchema(s.opts.ConfigPath)
	if err != nil {
		return err
	}
	return s.Apply(ctx, sc, s.opts.Force)
}

// orphanTypes lists the stored types sc does not declare, with their
// record counts.
func (s *Service) orphanTypes(ctx context.Context, sc *schema.Schema) ([]string, error) {
	// A loose index scan: one index probe per distinct type.
	types, err := store.Collect(ctx, s.db, store.ScanOne[string], `WITH RECURSIVE t(type) AS (
			SELECT MIN(type) FROM records_records
			UNION ALL SELECT (SELECT MIN(r.type) FROM records_records r WHERE r.type > t.type) FROM t WHERE t.type IS NOT NULL)
		SELECT type FROM t WHERE type IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, typ := range types {
		if _, ok := sc.Type(typ); ok {
			continue
		}
		var n int64
		if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM records_records WHERE type = ?`, typ).Scan(&n); err != nil {
			return nil, store.Normalize(err)
		}
		out = append(out, fmt.Sprintf("%s (%d records)", typ, n))
	}
	slices.Sort(out)
	return out, nil
}
