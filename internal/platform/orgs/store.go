package orgs

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/store"
)

// The SQL of the package, one function per statement, on store.Querier so
// that each works inside and outside a transaction. Only orgs_* tables.

const orgColumns = "o.id, o.name, o.external_id, o.created_at, o.updated_at"

func scanOrg(sc interface{ Scan(...any) error }) (Org, error) {
	var (
		o        Org
		ext      sql.NullString
		cre, upd int64
	)
	if err := sc.Scan(&o.ID, &o.Name, &ext, &cre, &upd); err != nil {
		return Org{}, err
	}
	o.ExternalID = ext.String
	o.CreatedAt, o.UpdatedAt = fromMicro(cre), fromMicro(upd)
	return o, nil
}

func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullable stores "" as NULL (external_id is unique only when set).
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func insertOrg(ctx context.Context, q store.Querier, o Org) error {
	_, err := q.Exec(ctx, `INSERT INTO orgs_orgs (id, name, external_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)`, o.ID, o.Name, nullable(o.ExternalID), o.CreatedAt.UnixMicro(), o.UpdatedAt.UnixMicro())
	return err
}

func updateOrg(ctx context.Context, q store.Querier, o Org) error {
	_, err := q.Exec(ctx, `UPDATE orgs_orgs SET name = ?, external_id = ?, updated_at = ? WHERE id = ?`,
		o.Name, nullable(o.ExternalID), o.UpdatedAt.UnixMicro(), o.ID)
	return err
}

func getOrg(ctx context.Context, q store.Querier, id string) (Org, error) {
	o, err := scanOrg(q.QueryRow(ctx, "SELECT "+orgColumns+" FROM orgs_orgs o WHERE o.id = ?", id))
	if err != nil {
		return Org{}, store.NotFound(err, "org")
	}
	return o, nil
}

// externalIDTaken reports whether another org than id holds externalID.
func externalIDTaken(ctx context.Context, q store.Querier, externalID, id string) (bool, error) {
	var other string
	err := q.QueryRow(ctx, "SELECT id FROM orgs_orgs WHERE external_id = ?", externalID).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, store.Normalize(err)
	}
	return other != id, nil
}

// resolveOrg finds an org by id, else by external_id, in one statement.
func resolveOrg(ctx context.Context, q store.Querier, key string) (string, bool, error) {
	var (
		id   string
		rank int
	)
	err := q.QueryRow(ctx, `SELECT id, 0 AS r FROM orgs_orgs WHERE id = ?
		UNION ALL SELECT id, 1 AS r FROM orgs_orgs WHERE external_id = ?
		ORDER BY r LIMIT 1`, key, key).Scan(&id, &rank)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, store.Normalize(err)
	}
	return id, true, nil
}

// listOrgs returns up to limit orgs with ids after the cursor key, in id
// order: userID's orgs, or every org when userID is "".
func listOrgs(ctx context.Context, q store.Querier, userID, after string, limit int) ([]Org, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if userID == "" {
		rows, err = q.Query(ctx, "SELECT "+orgColumns+" FROM orgs_orgs o WHERE o.id > ? ORDER BY o.id LIMIT ?", after, limit)
	} else {
		rows, err = q.Query(ctx, "SELECT "+orgColumns+` FROM orgs_members m JOIN orgs_orgs o ON o.id = m.org_id
			WHERE m.user_id = ? AND m.org_id > ? ORDER BY m.org_id LIMIT ?`, userID, after, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Org{}
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, store.Normalize(err)
		}
		out = append(out, o)
	}
	return out, store.Normalize(rows.Err())
}

const memberColumns = "org_id, user_id, role, level, created_at, updated_at"

func scanMember(sc interface{ Scan(...any) error }) (Member, error) {
	var (
		m        Member
		cre, upd int64
	)
	if err := sc.Scan(&m.OrgID, &m.UserID, &m.Role, &m.Level, &cre, &upd); err != nil {
		return Member{}, err
	}
	m.CreatedAt, m.UpdatedAt = fromMicro(cre), fromMicro(upd)
	return m, nil
}

// getMember returns the member, and false when userID is not one.
func getMember(ctx context.Context, q store.Querier, orgID, userID string) (Member, bool, error) {
	m, err := scanMember(q.QueryRow(ctx, "SELECT "+memberColumns+" FROM orgs_members WHERE org_id = ? AND user_id = ?", orgID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, false, nil
	}
	if err != nil {
		return Member{}, false, store.Normalize(err)
	}
	return m, true, nil
}

// membersIn returns the members of orgID among userIDs, by user id.
func membersIn(ctx context.Context, q store.Querier, orgID string, userIDs []string) (map[string]Member, error) {
	out := map[string]Member{}
	if len(userIDs) == 0 {
		return out, nil
	}
	list, args := store.In(userIDs)
	rows, err := q.Query(ctx, "SELECT "+memberColumns+" FROM orgs_members WHERE org_id = ? AND user_id IN ("+list+")", append([]any{orgID}, args...)...)
	if err != nil {
		return nil, store.Normalize(err)
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out[m.UserID] = m
	}
	return out, store.Normalize(rows.Err())
}

func insertMember(ctx context.Context, q store.Querier, m Member) error {
	_, err := q.Exec(ctx, "INSERT INTO orgs_members ("+memberColumns+") VALUES (?, ?, ?, ?, ?, ?)",
		m.OrgID, m.UserID, m.Role, m.Level, m.CreatedAt.UnixMicro(), m.UpdatedAt.UnixMicro())
	return err
}

func updateMember(ctx context.Context, q store.Querier, m Member) error {
	_, err := q.Exec(ctx, "UPDATE orgs_members SET role = ?, level = ?, updated_at = ? WHERE org_id = ? AND user_id = ?",
		m.Role, m.Level, m.UpdatedAt.UnixMicro(), m.OrgID, m.UserID)
	return err
}

// deleteMember removes the member and its group memberships, returning the
// ids of the groups it left.
func deleteMember(ctx context.Context, q store.Querier, orgID, userID string) ([]string, error) {
	groups, err := memberGroups(ctx, q, orgID, userID)
	if err != nil {
		return nil, err
	}
	if _, err := q.Exec(ctx, "DELETE FROM orgs_group_members WHERE org_id = ? AND user_id = ?", orgID, userID); err != nil {
		return nil, err
	}
	if _, err := q.Exec(ctx, "DELETE FROM orgs_members WHERE org_id = ? AND user_id = ?", orgID, userID); err != nil {
		return nil, err
	}
	return groups, nil
}

func countOwners(ctx context.Context, q store.Querier, orgID string) (int, error) {
	var n int
	err := q.QueryRow(ctx, "SELECT COUNT(*) FROM orgs_members WHERE org_id = ? AND role = ?", orgID, RoleOwner).Scan(&n)
	return n, store.Normalize(err)
}

func listMembers(ctx context.Context, q store.Querier, orgID, after string, limit int) ([]Member, error) {
	rows, err := q.Query(ctx, "SELECT "+memberColumns+" FROM orgs_members WHERE org_id = ? AND user_id > ? ORDER BY user_id LIMIT ?",
		orgID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, store.Normalize(err)
		}
		out = append(out, m)
	}
	return out, store.Normalize(rows.Err())
}

// membership reads a member's role, level and groups in one indexed query
// (the member's primary key, then the group members' (org_id, user_id) index).
func membership(ctx context.Context, q store.Querier, orgID, userID string) (Membership, bool, error) {
	rows, err := q.Query(ctx, `SELECT m.role, m.level, g.group_id FROM orgs_members m
		LEFT JOIN orgs_group_members g ON g.org_id = m.org_id AND g.user_id = m.user_id
		WHERE m.org_id = ? AND m.user_id = ? ORDER BY g.group_id`, orgID, userID)
	if err != nil {
		return Membership{}, false, err
	}
	defer rows.Close()
	var (
		ms    Membership
		found bool
	)
	for rows.Next() {
		var g sql.NullString
		if err := rows.Scan(&ms.Role, &ms.Level, &g); err != nil {
			return Membership{}, false, store.Normalize(err)
		}
		found = true
		if g.Valid {
			ms.Groups = append(ms.Groups, g.String)
		}
	}
	if err := rows.Err(); err != nil {
		return Membership{}, false, store.Normalize(err)
	}
	if !found {
		return Membership{}, false, nil
	}
	if ms.Groups == nil {
		ms.Groups = []string{}
	}
	return ms, true, nil
}

// groupsOf returns the group ids of each of userIDs in orgID, sorted, in
// one query (the group members' (org_id, user_id) index); a user in no
// group has no entry.
func groupsOf(ctx context.Context, q store.Querier, orgID string, userIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(userIDs) == 0 {
		return out, nil
	}
	list, args := store.In(userIDs)
	rows, err := q.Query(ctx, "SELECT user_id, group_id FROM orgs_group_members WHERE org_id = ? AND user_id IN ("+list+
		") ORDER BY user_id, group_id", append([]any{orgID}, args...)...)
	if err != nil {
		return nil, store.Normalize(err)
	}
	defer rows.Close()
	for rows.Next() {
		var userID, groupID string
		if err := rows.Scan(&userID, &groupID); err != nil {
			return nil, store.Normalize(err)
		}
		out[userID] = append(out[userID], groupID)
	}
	return out, store.Normalize(rows.Err())
}

func memberGroups(ctx context.Context, q store.Querier, orgID, userID string) ([]string, error) {
	rows, err := q.Query(ctx, "SELECT group_id FROM orgs_group_members WHERE org_id = ? AND user_id = ? ORDER BY group_id", orgID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, store.Normalize(err)
		}
		out = append(out, g)
	}
	return out, store.Normalize(rows.Err())
}

const groupColumns = "org_id, id, name, created_at"

func scanGroup(sc interface{ Scan(...any) error }) (Group, error) {
	var (
		g   Group
		cre int64
	)
	if err := sc.Scan(&g.OrgID, &g.ID, &g.Name, &cre); err != nil {
		return Group{}, err
	}
	g.CreatedAt = fromMicro(cre)
	return g, nil
}

func insertGroup(ctx context.Context, q store.Querier, g Group) error {
	_, err := q.Exec(ctx, "INSERT INTO orgs_groups ("+groupColumns+") VALUES (?, ?, ?, ?)",
		g.OrgID, g.ID, g.Name, g.CreatedAt.UnixMicro())
	return err
}

func getGroup(ctx context.Context, q store.Querier, orgID, id string) (Group, error) {
	g, err := scanGroup(q.QueryRow(ctx, "SELECT "+groupColumns+" FROM orgs_groups WHERE org_id = ? AND id = ?", orgID, id))
	if err != nil {
		return Group{}, store.NotFound(err, "group")
	}
	return g, nil
}

func groupNameTaken(ctx context.Context, q store.Querier, orgID, name string) (bool, error) {
	var n int
	err := q.QueryRow(ctx, "SELECT COUNT(*) FROM orgs_groups WHERE org_id = ? AND name = ?", orgID, name).Scan(&n)
	return n > 0, store.Normalize(err)
}

func listGroups(ctx context.Context, q store.Querier, orgID, after string, limit int) ([]Group, error) {
	rows, err := q.Query(ctx, "SELECT "+groupColumns+" FROM orgs_groups WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?",
		orgID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Group{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, store.Normalize(err)
		}
		out = append(out, g)
	}
	return out, store.Normalize(rows.Err())
}

// insertGroupMember adds the member to the group; false when it was in it.
func insertGroupMember(ctx context.Context, q store.Querier, orgID, groupID, userID string, now time.Time) (bool, error) {
	res, err := q.Exec(ctx, `INSERT INTO orgs_group_members (org_id, group_id, user_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (org_id, group_id, user_id) DO NOTHING`, orgID, groupID, userID, now.UnixMicro())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// deleteGroupMember removes the member from the group; false when it was not in it.
func deleteGroupMember(ctx context.Context, q store.Querier, orgID, groupID, userID string) (bool, error) {
	res, err := q.Exec(ctx, "DELETE FROM orgs_group_members WHERE org_id = ? AND group_id = ? AND user_id = ?", orgID, groupID, userID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
