package messaging_test

import (
	"testing"

	"github.com/tessera-dev/tessera/internal/apps/messaging"
)

// TestAccessFor checks the permission model of the contract, rule by rule.
func TestAccessFor(t *testing.T) {
	t.Parallel()
	const (
		owner  = "owner-entity"
		other  = "other-entity"
		alice  = "alice"
		bob    = "bob"
		rwa    = messaging.Read | messaging.Write | messaging.Admin
		banned = messaging.Banned
	)
	user := func(id, perms string, accepted bool) messaging.Rule {
		return messaging.Rule{EntityUUID: id, Kind: messaging.KindUser, Permissions: perms, Accepted: accepted}
	}
	entity := func(id string, level int, perms string, accepted bool) messaging.Rule {
		return messaging.Rule{EntityUUID: id, Kind: messaging.KindEntity, Level: level, Permissions: perms, Accepted: accepted}
	}
	room := func(rules ...messaging.Rule) messaging.Access {
		return messaging.Access{EntityOwner: owner, LevelAdmin: 500, Rules: rules}
	}
	for _, c := range []struct {
		name   string
		access messaging.Access
		caller messaging.Caller
		want   messaging.Perms
	}{
		// The owner entity's admins.
		{"owner entity at level_admin", room(), messaging.Caller{User: alice, Entity: owner, Level: 500}, rwa},
		{"owner entity above level_admin", room(), messaging.Caller{User: alice, Entity: owner, Level: 1_000_000}, rwa},
		{"owner entity below level_admin", room(), messaging.Caller{User: alice, Entity: owner, Level: 499}, 0},
		{"owner entity admin despite a ban", room(user(alice, "b", true), entity(owner, 0, "b", true)),
			messaging.Caller{User: alice, Entity: owner, Level: 500}, rwa},
		{"another entity at level_admin", room(), messaging.Caller{User: alice, Entity: other, Level: 500}, 0},
		{"no entity, empty owner", messaging.Access{LevelAdmin: 0}, messaging.Caller{User: alice}, 0},

		// User rules.
		{"accepted user rule r", room(user(alice, "r", true)), messaging.Caller{User: alice}, messaging.Read},
		{"accepted user rule w", room(user(alice, "w", true)), messaging.Caller{User: alice}, messaging.Write},
		{"accepted user rule wr", room(user(alice, "wr", true)), messaging.Caller{User: alice}, messaging.Read | messaging.Write},
		{"someone else's user rule", room(user(bob, "rw", true)), messaging.Caller{User: alice}, 0},
		{"not accepted user rule", room(user(alice, "rw", false)), messaging.Caller{User: alice}, 0},
		{"not accepted admin rule", room(user(alice, "rwa", false)), messaging.Caller{User: alice}, 0},
		{"user rule does not speak for an entity of that id", room(user(other, "rw", true)),
			messaging.Caller{User: alice, Entity: other, Level: 1000}, 0},

		// Entity rules admit members at or above the rule's level.
		{"entity rule, level equal", room(entity(other, 50, "r", true)), messaging.Caller{User: alice, Entity: other, Level: 50}, messaging.Read},
		{"entity rule, level above", room(entity(other, 50, "rw", true)), messaging.Caller{User: alice, Entity: other, Level: 51},
			messaging.Read | messaging.Write},
		{"entity rule, level below", room(entity(other, 50, "rw", true)), messaging.Caller{User: alice, Entity: other, Level: 49}, 0},
		{"entity rule of another entity", room(entity(other, 0, "rw", true)), messaging.Caller{User: alice, Entity: owner, Level: 100}, 0},
		{"not accepted entity rule", room(entity(other, 0, "rw", false)), messaging.Caller{User: alice, Entity: other, Level: 100}, 0},
		{"entity rule does not speak for a user of that id", room(entity(alice, 0, "rw", true)), messaging.Caller{User: alice}, 0},
		{"empty entity matches no empty-id rule", room(entity("", 0, "rw", true)), messaging.Caller{User: alice}, 0},

		// Union of the user's and the entity's letters.
		{"union of user r and entity w", room(user(alice, "r", true), entity(other, 10, "w", true)),
			messaging.Caller{User: alice, Entity: other, Level: 10}, messaging.Read | messaging.Write},
		{"union skips the entity rule out of reach", room(user(alice, "r", true), entity(other, 10, "w", true)),
			messaging.Caller{User: alice, Entity: other, Level: 9}, messaging.Read},
		{"union skips the unaccepted rule", room(user(alice, "r", false), entity(other, 10, "w", true)),
			messaging.Caller{User: alice, Entity: other, Level: 10}, messaging.Write},

		// Admin by rule: r + w + a.
		{"a alone via a user rule", room(user(alice, "a", true)), messaging.Caller{User: alice}, rwa},
		{"a via an entity rule", room(entity(other, 7, "a", true)), messaging.Caller{User: alice, Entity: other, Level: 7}, rwa},

		// Banned wins.
		{"ban in the user rule", room(user(alice, "rwb", true)), messaging.Caller{User: alice}, banned},
		{"ban not yet accepted counts", room(user(alice, "b", false)), messaging.Caller{User: alice}, banned},
		{"ban beats a by rule", room(user(alice, "rwba", true)), messaging.Caller{User: alice}, banned},
		{"entity ban beats user admin", room(user(alice, "rwa", true), entity(other, 10, "b", true)),
			messaging.Caller{User: alice, Entity: other, Level: 10}, banned},
		{"unaccepted entity ban beats user rw", room(user(alice, "rw", true), entity(other, 10, "b", false)),
			messaging.Caller{User: alice, Entity: other, Level: 10}, banned},
		{"entity ban out of reach does not apply", room(user(alice, "rw", true), entity(other, 10, "b", true)),
			messaging.Caller{User: alice, Entity: other, Level: 9}, messaging.Read | messaging.Write},
		{"user ban beats entity rw", room(user(alice, "b", true), entity(other, 0, "rw", true)),
			messaging.Caller{User: alice, Entity: other, Level: 100}, banned},
		{"owner entity below level_admin is banned", room(user(alice, "b", true), entity(owner, 100, "rw", true)),
			messaging.Caller{User: alice, Entity: owner, Level: 499}, banned},

		// Broken stored rules grant nothing.
		{"invalid stored letters", room(user(alice, "rx", true)), messaging.Caller{User: alice}, 0},
		{"unknown kind", room(messaging.Rule{EntityUUID: alice, Kind: "group", Permissions: "rw", Accepted: true}),
			messaging.Caller{User: alice}, 0},

		// Admin API keys: everything, bans included.
		{"platform", room(), messaging.Caller{Platform: true}, rwa},
		{"platform with a ban on record", room(user("", "b", true), entity("", 0, "b", true)), messaging.Caller{Platform: true}, rwa},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := c.access.For(c.caller); got != c.want {
				t.Errorf("For(%+v) = %q, want %q", c.caller, got, c.want)
			}
		})
	}
}

// TestParsePerms checks the permission strings the contract admits.
func TestParsePerms(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want messaging.Perms
		ok   bool
	}{
		{"", 0, true},
		{"r", messaging.Read, true},
		{"w", messaging.Write, true},
		{"b", messaging.Banned, true},
		{"a", messaging.Admin, true},
		{"rw", messaging.Read | messaging.Write, true},
		{"wr", messaging.Read | messaging.Write, true},
		{"rwba", messaging.Read | messaging.Write | messaging.Banned | messaging.Admin, true},
		{"abwr", messaging.Read | messaging.Write | messaging.Banned | messaging.Admin, true},
		{"rr", 0, false},
		{"rwr", 0, false},
		{"aa", 0, false},
		{"rx", 0, false},
		{"x", 0, false},
		{"R", 0, false},
		{"r w", 0, false},
		{"rw\n", 0, false},
		{"rwbax", 0, false},
		{"rwbar", 0, false},
		{"rwbaa", 0, false},
		{"é", 0, false},
	} {
		got, ok := messaging.ParsePerms(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParsePerms(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
		if ok && got.String() != canonical(c.in) {
			t.Errorf("ParsePerms(%q).String() = %q", c.in, got.String())
		}
	}
	if p := messaging.Read | messaging.Write; !p.Has(messaging.Read) || !p.Has(p) || p.Has(messaging.Admin) || p.Has(messaging.Read|messaging.Admin) {
		t.Error("Has")
	}
}

// canonical sorts a valid permission string into the order r, w, b, a.
func canonical(s string) string {
	out := ""
	for _, l := range "rwba" {
		for _, c := range s {
			if c == l {
				out += string(l)
			}
		}
	}
	return out
}
