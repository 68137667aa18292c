package messaging

import (
	"strings"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/internal/platform/authz"
)

// Perms is a set of permission letters: r read, w write, b banned, a admin.
type Perms uint8

// The permission letters.
const (
	Read Perms = 1 << iota
	Write
	Banned
	Admin
)

// letters is the canonical order of String.
var letters = [...]struct {
	p Perms
	c byte
}{{Read, 'r'}, {Write, 'w'}, {Banned, 'b'}, {Admin, 'a'}}

// ParsePerms reads a permissions string: letters r, w, b, a in any order,
// no repeats, at most 4. ok is false for anything else.
func ParsePerms(s string) (p Perms, ok bool) {
	if len(s) > 4 {
		return 0, false
	}
	for i := range len(s) {
		var bit Perms
		for _, l := range letters {
			if s[i] == l.c {
				bit = l.p
			}
		}
		if bit == 0 || p&bit != 0 {
			return 0, false
		}
		p |= bit
	}
	return p, true
}

// String renders p in the canonical order "rwba".
func (p Perms) String() string {
	var b strings.Builder
	for _, l := range letters {
		if p&l.p != 0 {
			b.WriteByte(l.c)
		}
	}
	return b.String()
}

// Has reports whether p holds every letter of q.
func (p Perms) Has(q Perms) bool { return p&q == q }

// Caller is who acts in a room: a user, its entity and its level there
// (levelOnEntity), as the authorizer established them.
type Caller struct {
	User   string
	Entity string
	Level  int
	// Platform is true for an admin API key: every room, every letter.
	Platform bool
}

// callerOf maps a principal: user id → userUUID, org → entityUUID, level →
// levelOnEntity (for shared-secret tokens, the token's claims as they are,
// but for the spelling of a UUID: see canonicalID).
func callerOf(p authz.Principal) Caller {
	return Caller{User: canonicalID(p.UserID), Entity: canonicalID(p.OrgID), Level: p.Level, Platform: p.IsAdmin}
}

// canonicalID returns a UUID in its canonical form (lower case, hyphens),
// so that a rule written for "{E252288B-…}" or "urn:uuid:e252288b-…" speaks
// for the token whose userUUID is "e252288b-…"; any other id is returned as
// it is.
func canonicalID(id string) string {
	if u, err := uuid.Parse(id); err == nil {
		return u.String()
	}
	return id
}

// Kind says what a rule's UUID names.
type Kind string

// The rule kinds.
const (
	KindUser   Kind = "user"
	KindEntity Kind = "entity"
)

// Rule is one line of a room's permission table.
type Rule struct {
	EntityUUID  string `json:"entity_UUID"`
	Kind        Kind   `json:"kind"`
	Level       int    `json:"level"`
	Permissions string `json:"permissions"`
	Accepted    bool   `json:"accepted"`
}

// applies reports whether r speaks for c: the user's own rule, or its
// entity's rule when c's level reaches the rule's level.
func (r Rule) applies(c Caller) bool {
	switch r.Kind {
	case KindUser:
		return c.User != "" && r.EntityUUID == c.User
	case KindEntity:
		return c.Entity != "" && r.EntityUUID == c.Entity && c.Level >= r.Level
	}
	return false
}

// perms returns the rule's letters (an invalid stored string grants nothing).
func (r Rule) perms() Perms {
	p, _ := ParsePerms(r.Permissions)
	return p
}

// Access is what decides who may do what in a room: its owner entity, its
// admin level and its rules.
type Access struct {
	EntityOwner string `json:"entity_owner"`
	LevelAdmin  int    `json:"level_admin"`
	Rules       []Rule `json:"rules"`
}

// For returns c's effective permissions in the room, by the contract:
//   - the owner entity's members at or above level_admin are admins, and
//     nothing takes that away;
//   - otherwise the letters of the applicable rules (c's user rule, and its
//     entity's rule when c's level reaches it) are united; a rule counts
//     once accepted, and a ban (b) counts at once (an invitation cannot be
//     declined into access);
//   - b in any applicable rule removes every other letter;
//   - a makes an admin, who reads and writes.
func (a Access) For(c Caller) Perms {
	all := Read | Write | Admin
	if c.Platform || (c.Entity != "" && c.Entity == a.EntityOwner && c.Level >= a.LevelAdmin) {
		return all
	}
	var p Perms
	for _, r := range a.Rules {
		if !r.applies(c) {
			continue
		}
		rp := r.perms()
		if r.Accepted || rp.Has(Banned) {
			p |= rp
		}
	}
	switch {
	case p.Has(Banned):
		return Banned
	case p.Has(Admin):
		return all
	}
	return p
}
