package records

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// How fields are stored and indexed (docs/records.md, Storage): a record's
// fields are one JSON object (TEXT on SQLite, jsonb on Postgres). Each
// indexed field of a type gets a partial expression index on
// (org_id, value, created_at, id) WHERE type = '<type>', created at start
// from the config; filters and sorts use the very same expression, so
// they read the index. The expression is never NULL: an absent value (or
// one of another kind, left by an older config) is the empty string for
// text-like kinds, -∞ for numbers and -1 for booleans, so keyset
// comparisons see every row. Type and field names are SQL literals here:
// schema.Parse allows only [a-z0-9_] names.

// fieldExpr is the SQL expression of field p's value in records_records.
func fieldExpr(engine store.Engine, p *schema.Param) string {
	f := p.Name
	if engine == store.EnginePostgres {
		v := `(fields->'` + f + `')`
		switch p.Kind {
		case schema.KindNumber, schema.KindInteger:
			return `(CASE WHEN jsonb_typeof(` + v + `) = 'number' THEN ` + v + `::numeric ELSE '-Infinity'::numeric END)`
		case schema.KindBoolean:
			return `(CASE WHEN jsonb_typeof(` + v + `) = 'boolean' THEN ` + v + `::boolean::int ELSE -1 END)`
		default:
			return `((CASE WHEN jsonb_typeof(` + v + `) = 'string' THEN (fields->>'` + f + `') ELSE '' END) COLLATE "C")`
		}
	}
	path := `'$.` + f + `'`
	switch p.Kind {
	case schema.KindNumber, schema.KindInteger:
		return `(CASE WHEN json_type(fields, ` + path + `) IN ('integer', 'real') THEN json_extract(fields, ` + path + `) ELSE -9e999 END)`
	case schema.KindBoolean:
		return `(CASE json_type(fields, ` + path + `) WHEN 'true' THEN 1 WHEN 'false' THEN 0 ELSE -1 END)`
	default:
		return `(CASE json_type(fields, ` + path + `) WHEN 'text' THEN json_extract(fields, ` + path + `) ELSE '' END)`
	}
}

// absentLiteral is the SQL literal fieldExpr gives an absent number, ""
// for the kinds whose absent value can be bound as an argument.
func absentLiteral(engine store.Engine, p *schema.Param) string {
	if p.Kind != schema.KindNumber && p.Kind != schema.KindInteger {
		return ""
	}
	if engine == store.EnginePostgres {
		return `'-Infinity'::numeric`
	}
	return `-9e999`
}

// bindValue is the argument compared with fieldExpr for a value of p as
// schema.Param.ParseFilter and Decode return it (nil: absent).
func bindValue(p *schema.Param, v any) any {
	switch p.Kind {
	case schema.KindBoolean:
		switch v {
		case true:
			return 1
		case false:
			return 0
		}
		return -1
	case schema.KindNumber, schema.KindInteger:
		return v
	default:
		if v == nil {
			return ""
		}
		return v
	}
}

// indexPrefix starts the name of every field index.
const indexPrefix = "records_f_"

// wantedIndexes returns the field indexes sc needs: name → definition. A
// name carries a hash of its definition, so a changed kind or expression
// makes a new index (and the old one is dropped).
func wantedIndexes(engine store.Engine, sc *schema.Schema) map[string]string {
	out := map[string]string{}
	for _, name := range sc.Names() {
		t, _ := sc.Type(name)
		for _, p := range t.Params {
			if !p.Indexed {
				continue
			}
			def := `(org_id, ` + fieldExpr(engine, p) + `, created_at, id) WHERE type = '` + t.Name + `'`
			sum := sha256.Sum256([]byte(def))
			// ≤ 63 bytes (Postgres' limit): prefix, type, field, hash.
			idx := indexPrefix + trim(t.Name, 20) + "_" + trim(p.Name, 20) + "_" + hex.EncodeToString(sum[:4])
			out[idx] = def
		}
	}
	return out
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ensureIndexes creates the field indexes sc needs and drops the ones it
// no longer does. Creating an index on a big table takes a while (and on
// SQLite holds the writer meanwhile): it happens once per config change.
func ensureIndexes(ctx context.Context, db *store.DB, sc *schema.Schema) error {
	engine := db.Engine()
	have, err := fieldIndexes(ctx, db)
	if err != nil {
		return err
	}
	want := wantedIndexes(engine, sc)
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if slices.Contains(have, name) {
			continue
		}
		if _, err := db.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+name+` ON records_records `+want[name]); err != nil {
			// Another node may have created it at the same moment.
			if now, lerr := fieldIndexes(ctx, db); lerr == nil && slices.Contains(now, name) {
				continue
			}
			return fmt.Errorf("records: create index %s: %w", name, err)
		}
	}
	for _, name := range have {
		if _, ok := want[name]; !ok {
			if _, err := db.Exec(ctx, `DROP INDEX IF EXISTS `+name); err != nil {
				return fmt.Errorf("records: drop index %s: %w", name, err)
			}
		}
	}
	return nil
}

// fieldIndexes lists the field indexes that exist.
func fieldIndexes(ctx context.Context, db *store.DB) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records_records'`
	if db.Engine() == store.EnginePostgres {
		query = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'records_records'`
	}
	names, err := store.Collect(ctx, db, store.ScanOne[string], query)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, indexPrefix) }), nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
