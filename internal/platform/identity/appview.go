package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// usersTable is how identity_users is named in SQL run in an app's
// transaction: on Postgres the app's role has search_path "<app>, platform",
// so the name is schema-qualified (migration 0002 grants the apps group role
// the columns it needs); SQLite has one namespace.
func usersTable(e store.Engine) string {
	if e == store.EnginePostgres {
		return Schema + ".identity_users"
	}
	return "identity_users"
}

// LookupUser reads user id through q, an app's handle or transaction on
// engine (fault.NotFound when there is no such user): the profile columns
// only, never credentials.
func LookupUser(ctx context.Context, q store.Querier, engine store.Engine, id string) (User, error) {
	r, err := scanUser(q.QueryRow(ctx, `SELECT `+userCols+` FROM `+usersTable(engine)+` WHERE id = ?`, id), false)
	if err != nil {
		return User{}, store.NotFound(err, "user")
	}
	return r.User, nil
}

// SetAttributes sets the custom attributes of user id in tx, an app's
// transaction, and emits auth.user.updated there: the app's change and the
// attributes that mirror it commit together or not at all. An attribute set
// to "" is removed. The client's allowed list does not apply: it limits what
// users may set about themselves, and the calling app is the authority on the
// attributes it owns. The attributes reach tokens issued from then on.
func SetAttributes(ctx context.Context, tx *store.Tx, log *events.Log, id string, set map[string]string) error {
	table := usersTable(tx.Engine())
	var raw string
	if err := store.NotFound(tx.QueryRow(ctx, `SELECT attributes FROM `+table+` WHERE id = ?`, id).Scan(&raw), "user"); err != nil {
		return err
	}
	attrs := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &attrs); err != nil {
		return fmt.Errorf("identity: attributes of user %s: %w", id, err)
	}
	for k, v := range set {
		if v == "" {
			delete(attrs, k)
		} else {
			attrs[k] = v
		}
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE `+table+` SET attributes = ?, updated_at = ? WHERE id = ?`, string(b), time.Now().Unix(), id); err != nil {
		return err
	}
	payload, err := json.Marshal(map[string]any{"attributes": slices.Sorted(maps.Keys(set))})
	if err != nil {
		return err
	}
	return log.Emit(ctx, tx, events.Event{Type: EventUserUpdated, Subject: id, Payload: payload})
}
