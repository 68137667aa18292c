package orgs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/store"
	"github.com/tessera-dev/tessera/internal/platform/store/storetest"
)

// open migrates st and returns the service and its event log.
func open(t testing.TB, st *store.Store) (*Service, *events.Log) {
	t.Helper()
	if err := st.Migrate(context.Background(), events.Migrations(), Migrations()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	log := events.New(st, events.Options{})
	return New(st, log, Options{}), log
}

func user(id string) authz.Principal { return authz.Principal{UserID: id, Via: authz.ViaPlatform} }

var admin = authz.Principal{IsAdmin: true, Via: authz.ViaAdminKey}

// must(f())(t) returns f's value, failing t on an error.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func wantCode(t *testing.T, err error, code fault.Code) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("want success, got %v", err)
		}
		return
	}
	if !fault.Is(err, code) {
		t.Fatalf("want %s, got %v", code, err)
	}
}

// fixture: org with owner o1, owner o2 (when twoOwners), admin a, member m.
func fixture(t *testing.T, svc *Service, twoOwners bool) string {
	t.Helper()
	ctx := context.Background()
	org := must(svc.CreateOrg(ctx, "Acme", "", "o1"))(t)
	for _, m := range []struct {
		id, role string
	}{{"a", RoleAdmin}, {"m", RoleMember}} {
		if _, _, err := svc.putMember(ctx, user("o1"), org.ID, m.id, m.role, 10); err != nil {
			t.Fatal(err)
		}
	}
	if twoOwners {
		if _, _, err := svc.putMember(ctx, user("o1"), org.ID, "o2", RoleOwner, 0); err != nil {
			t.Fatal(err)
		}
	}
	return org.ID
}

func TestMemberRules(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		svc, _ := open(t, st)
		ctx := context.Background()
		type put struct {
			role  string
			level int
		}
		cases := []struct {
			name      string
			twoOwners bool
			caller    authz.Principal
			target    string
			put       *put // nil: DELETE
			want      fault.Code
		}{
			{"owner adds a member", false, user("o1"), "new", &put{RoleMember, 5}, ""},
			{"owner grants owner", false, user("o1"), "m", &put{RoleOwner, 0}, ""},
			{"admin adds a member", false, user("a"), "new", &put{RoleMember, 5}, ""},
			{"admin promotes to admin", false, user("a"), "m", &put{RoleAdmin, 5}, ""},
			{"admin may not grant owner", false, user("a"), "m", &put{RoleOwner, 0}, fault.Forbidden},
			{"admin may not demote an owner", true, user("a"), "o2", &put{RoleMember, 0}, fault.Forbidden},
			{"admin may not remove an owner", true, user("a"), "o2", nil, fault.Forbidden},
			{"member may not add", false, user("m"), "new", &put{RoleMember, 0}, fault.Forbidden},
			{"member may not raise its level", false, user("m"), "m", &put{RoleMember, 99}, fault.Forbidden},
			{"member may not remove another", false, user("m"), "a", nil, fault.Forbidden},
			{"member may leave", false, user("m"), "m", nil, ""},
			{"outsider gets 404", false, user("x"), "new", &put{RoleMember, 0}, fault.NotFound},
			{"outsider delete gets 404", false, user("x"), "m", nil, fault.NotFound},
			{"anonymous principal gets 404", false, authz.Principal{}, "m", nil, fault.NotFound},
			{"last owner may not demote itself", false, user("o1"), "o1", &put{RoleAdmin, 0}, fault.Conflict},
			{"last owner may not leave", false, user("o1"), "o1", nil, fault.Conflict},
			{"one of two owners may leave", true, user("o1"), "o1", nil, ""},
			{"owner demotes another owner", true, user("o1"), "o2", &put{RoleMember, 0}, ""},
			{"platform admin grants owner", false, admin, "m", &put{RoleOwner, 0}, ""},
			{"platform admin cannot remove the last owner", false, admin, "o1", nil, fault.Conflict},
			{"removing a non-member is 404", false, user("o1"), "nobody", nil, fault.NotFound},
			{"level above the maximum", false, user("o1"), "m", &put{RoleMember, MaxLevel + 1}, fault.Invalid},
			{"negative level", false, user("o1"), "m", &put{RoleMember, -1}, fault.Invalid},
			{"unknown role", false, user("o1"), "m", &put{"boss", 0}, fault.Invalid},
			{"maximum level", false, user("o1"), "m", &put{RoleMember, MaxLevel}, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				org := fixture(t, svc, tc.twoOwners)
				var err error
				if tc.put != nil {
					_, _, err = svc.putMember(ctx, tc.caller, org, tc.target, tc.put.role, tc.put.level)
				} else {
					err = svc.removeMember(ctx, tc.caller, org, tc.target)
				}
				wantCode(t, err, tc.want)
				ms, ok := must2(svc.Membership(ctx, org, tc.target))(t)
				switch {
				case tc.want != "":
					// Nothing changed: the fixture's state stands.
				case tc.put != nil:
					if !ok || ms.Role != tc.put.role || ms.Level != tc.put.level {
						t.Fatalf("membership after put: %+v %v", ms, ok)
					}
				default:
					if ok {
						t.Fatalf("still a member after delete: %+v", ms)
					}
				}
				n, err := countOwners(ctx, st.App(Schema), org)
				if err != nil || n < 1 {
					t.Fatalf("owners = %d, %v", n, err)
				}
			})
		}
	})
}

func must2[A, B any](a A, b B, err error) func(testing.TB) (A, B) {
	return func(t testing.TB) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return a, b
	}
}

func TestValidationListsEveryField(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		svc, _ := open(t, st)
		org := fixture(t, svc, false)
		_, _, err := svc.putMember(context.Background(), user("o1"), org, "bad id", "boss", 2_000_000)
		f := fault.As(err)
		if f == nil || f.Code != fault.Invalid {
			t.Fatalf("want invalid, got %v", err)
		}
		var locs []string
		for _, fe := range f.Fields {
			locs = append(locs, fe.Location)
		}
		if want := []string{"path.user_id", "body.role", "body.level"}; !slices.Equal(locs, want) {
			t.Fatalf("fields = %v, want %v", locs, want)
		}
		_, err = svc.CreateOrg(context.Background(), " ", "has space", "")
		if f := fault.As(err); f == nil || len(f.Fields) != 3 {
			t.Fatalf("create: want 3 bad fields, got %v", err)
		}
	})
}

func TestMembershipAndGroups(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		svc, _ := open(t, st)
		ctx := context.Background()
		org := fixture(t, svc, false)

		ms, ok := must2(svc.Membership(ctx, org, "m"))(t)
		if !ok || ms.Role != RoleMember || ms.Level != 10 || ms.Groups == nil || len(ms.Groups) != 0 {
			t.Fatalf("membership = %+v %v", ms, ok)
		}
		g1 := must(svc.createGroup(ctx, user("a"), org, "Design"))(t)
		g2 := must(svc.createGroup(ctx, user("o1"), org, "Legal"))(t)
		_, err := svc.createGroup(ctx, user("o1"), org, " Design ")
		wantCode(t, err, fault.Conflict)
		_, err = svc.createGroup(ctx, user("m"), org, "Ops")
		wantCode(t, err, fault.Forbidden)
		_, err = svc.createGroup(ctx, user("x"), org, "Ops")
		wantCode(t, err, fault.NotFound)

		// A change is visible on the very next read: no cache, no token.
		for _, g := range []Group{g2, g1} {
			if added := must(svc.putGroupMember(ctx, user("a"), org, g.ID, "m"))(t); !added {
				t.Fatal("not added")
			}
		}
		if added := must(svc.putGroupMember(ctx, user("a"), org, g1.ID, "m"))(t); added {
			t.Fatal("added twice")
		}
		ms, _ = must2(svc.Membership(ctx, org, "m"))(t)
		want := []string{g1.ID, g2.ID}
		slices.Sort(want)
		if !slices.Equal(ms.Groups, want) {
			t.Fatalf("groups = %v, want %v", ms.Groups, want)
		}
		_, err = svc.putGroupMember(ctx, user("a"), org, g1.ID, "stranger")
		wantCode(t, err, fault.Invalid)
		_, err = svc.putGroupMember(ctx, user("m"), org, g1.ID, "m")
		wantCode(t, err, fault.Forbidden)
		_, err = svc.putGroupMember(ctx, user("a"), org, "no-such-group", "m")
		wantCode(t, err, fault.NotFound)

		wantCode(t, svc.removeGroupMember(ctx, user("o1"), org, g2.ID, "m"), "")
		wantCode(t, svc.removeGroupMember(ctx, user("o1"), org, g2.ID, "m"), fault.NotFound)
		ms, _ = must2(svc.Membership(ctx, org, "m"))(t)
		if !slices.Equal(ms.Groups, []string{g1.ID}) {
			t.Fatalf("groups after removal = %v", ms.Groups)
		}
		_, _, err = svc.putMember(ctx, user("o1"), org, "m", RoleAdmin, 77)
		wantCode(t, err, "")
		ms, _ = must2(svc.Membership(ctx, org, "m"))(t)
		if ms.Role != RoleAdmin || ms.Level != 77 {
			t.Fatalf("after update: %+v", ms)
		}

		// Removing a member removes it from its groups.
		wantCode(t, svc.removeMember(ctx, user("o1"), org, "m"), "")
		if _, ok := must2(svc.Membership(ctx, org, "m"))(t); ok {
			t.Fatal("still a member")
		}
		gs := must(memberGroups(ctx, st.App(Schema), org, "m"))(t)
		if len(gs) != 0 {
			t.Fatalf("group rows left: %v", gs)
		}
		// Another org's group is not found through this org.
		other := must(svc.CreateOrg(ctx, "Other", "", "o1"))(t)
		_, err = svc.putGroupMember(ctx, user("o1"), other.ID, g1.ID, "o1")
		wantCode(t, err, fault.NotFound)
		if _, ok := must2(svc.Membership(ctx, "no-such-org", "o1"))(t); ok {
			t.Fatal("member of a missing org")
		}
	})
}

func TestOrgsCrudResolveAndList(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		svc, _ := open(t, st)
		ctx := context.Background()
		a := must(svc.CreateOrg(ctx, "A", "auth0|org_a", "u1"))(t)
		b := must(svc.createOrg(ctx, user("u2"), "B", "", ""))(t)
		_, err := svc.CreateOrg(ctx, "C", "auth0|org_a", "u1")
		wantCode(t, err, fault.Conflict)
		_, err = svc.createOrg(ctx, user("u2"), "C", "", "u1")
		wantCode(t, err, fault.Forbidden)

		for _, tc := range []struct {
			key, want string
		}{{a.ID, a.ID}, {"auth0|org_a", a.ID}, {b.ID, b.ID}, {"nope", ""}, {"", ""}} {
			id, ok := must2(svc.ResolveOrg(ctx, tc.key))(t)
			if id != tc.want || ok != (tc.want != "") {
				t.Errorf("ResolveOrg(%q) = %q %v, want %q", tc.key, id, ok, tc.want)
			}
		}

		// Update: external_id unique, cleared by "", only owners and admins.
		ext := "auth0|org_a"
		_, err = svc.updateOrg(ctx, user("u2"), b.ID, OrgUpdate{ExternalID: &ext})
		wantCode(t, err, fault.Conflict)
		_, err = svc.updateOrg(ctx, user("u2"), a.ID, OrgUpdate{ExternalID: &ext})
		wantCode(t, err, fault.NotFound)
		name, empty := "A2", ""
		a2 := must(svc.updateOrg(ctx, user("u1"), a.ID, OrgUpdate{Name: &name, ExternalID: &empty}))(t)
		if a2.Name != "A2" || a2.ExternalID != "" {
			t.Fatalf("updated = %+v", a2)
		}
		if _, ok := must2(svc.ResolveOrg(ctx, "auth0|org_a"))(t); ok {
			t.Fatal("cleared external_id still resolves")
		}
		got := must(svc.getOrg(ctx, user("u1"), a.ID))(t)
		if got != a2 {
			t.Fatalf("get = %+v, want %+v", got, a2)
		}
		_, err = svc.getOrg(ctx, user("u2"), a.ID)
		wantCode(t, err, fault.NotFound)
		_, err = svc.getOrg(ctx, admin, "no-such-org")
		wantCode(t, err, fault.NotFound)
		must(svc.getOrg(ctx, admin, a.ID))(t)

		// Paging: u1 owns a and 4 more; 5 orgs in pages of 2.
		for i := range 4 {
			must(svc.CreateOrg(ctx, fmt.Sprintf("P%d", i), "", "u1"))(t)
		}
		var ids []string
		cursor := ""
		for pages := 0; ; pages++ {
			items, next, err := svc.listOrgs(ctx, user("u1"), 2, cursor)
			wantCode(t, err, "")
			for _, o := range items {
				ids = append(ids, o.ID)
			}
			if next == "" {
				if pages != 2 {
					t.Fatalf("pages = %d", pages+1)
				}
				break
			}
			cursor = next
		}
		if len(ids) != 5 || !slices.IsSorted(ids) || ids[0] != a.ID {
			t.Fatalf("listed %v", ids)
		}
		all, _, err := svc.ListOrgs(ctx, "", 0, "")
		if err != nil || len(all) != 6 {
			t.Fatalf("all orgs: %d %v", len(all), err)
		}
		_, _, err = svc.ListOrgs(ctx, "", 0, "!!")
		wantCode(t, err, fault.Invalid)
	})
}

func TestEventsInTheSameTransaction(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		svc, log := open(t, st)
		ctx := context.Background()
		org := fixture(t, svc, false)
		g := must(svc.createGroup(ctx, user("o1"), org, "G"))(t)
		must(svc.putGroupMember(ctx, user("o1"), org, g.ID, "m"))(t)
		wantCode(t, svc.removeGroupMember(ctx, user("o1"), org, g.ID, "m"), "")
		name := "Acme 2"
		must(svc.updateOrg(ctx, user("o1"), org, OrgUpdate{Name: &name}))(t)
		_, _, err := svc.putMember(ctx, user("o1"), org, "m", RoleMember, 11)
		wantCode(t, err, "")
		wantCode(t, svc.removeMember(ctx, user("o1"), org, "m"), "")
		// Refused changes leave no event.
		wantCode(t, svc.removeMember(ctx, user("o1"), org, "o1"), fault.Conflict)

		want := []string{"orgs.org.created", "orgs.member.added", "orgs.member.added", "orgs.member.added",
			"orgs.group.created", "orgs.group_member.added", "orgs.group_member.removed", "orgs.org.updated",
			"orgs.member.updated", "orgs.member.removed"}
		// On Postgres the log shows an event once every older transaction on
		// the server has ended (other tests run beside this one): wait for it.
		var types []string
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			evs, err := log.Read(ctx, "", events.Filter{OrgID: org}, 100)
			if err != nil {
				t.Fatal(err)
			}
			types = types[:0]
			for _, e := range evs {
				types = append(types, e.Type)
			}
			if len(types) >= len(want) || time.Now().After(deadline) {
				break
			}
		}
		if !slices.Equal(types, want) {
			t.Fatalf("events:\n got %v\nwant %v", types, want)
		}
	})
}

func TestUserExistsHook(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		if err := st.Migrate(context.Background(), events.Migrations(), Migrations()); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		svc := New(st, events.New(st, events.Options{}), Options{UserExists: func(_ context.Context, id string) (bool, error) {
			if id == "broken" {
				return false, boom
			}
			return id != "ghost", nil
		}})
		ctx := context.Background()
		org := must(svc.CreateOrg(ctx, "A", "", "u1"))(t)
		_, err := svc.CreateOrg(ctx, "B", "", "ghost")
		wantCode(t, err, fault.Invalid)
		_, _, err = svc.putMember(ctx, user("u1"), org.ID, "ghost", RoleMember, 0)
		wantCode(t, err, fault.Invalid)
		if _, _, err = svc.putMember(ctx, user("u1"), org.ID, "broken", RoleMember, 0); !errors.Is(err, boom) {
			t.Fatalf("want boom, got %v", err)
		}
	})
}

func BenchmarkMembership(b *testing.B) {
	for _, engine := range []store.Engine{store.EngineSQLite, store.EnginePostgres} {
		b.Run(string(engine), func(b *testing.B) {
			st := storetest.Open(b, engine)
			svc, _ := open(b, st)
			ctx := context.Background()
			// 20 orgs of 50 members, each member in 3 of 10 groups.
			var org string
			for i := range 20 {
				org = must(svc.CreateOrg(ctx, fmt.Sprintf("O%d", i), "", "owner"))(b).ID
				var groups []Group
				for j := range 10 {
					groups = append(groups, must(svc.createGroup(ctx, admin, org, fmt.Sprintf("G%d", j)))(b))
				}
				for u := range 50 {
					id := fmt.Sprintf("user-%d", u)
					if _, _, err := svc.putMember(ctx, admin, org, id, RoleMember, u); err != nil {
						b.Fatal(err)
					}
					for k := range 3 {
						must(svc.putGroupMember(ctx, admin, org, groups[(u+k)%10].ID, id))(b)
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				ms, ok, err := svc.Membership(ctx, org, fmt.Sprintf("user-%d", i%50))
				if err != nil || !ok || len(ms.Groups) != 3 {
					b.Fatalf("%+v %v %v", ms, ok, err)
				}
			}
		})
	}
}

// TestActing: the caller-checked view apps use applies the /orgs rights,
// and Member reads one row without a caller.
func TestActing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		svc, _ := open(t, st)
		ctx := context.Background()
		org := fixture(t, svc, false) // owner o1, admin a, member m

		if o, err := svc.As(user("m")).GetOrg(ctx, org); err != nil || o.Name != "Acme" {
			t.Fatalf("member gets the org: %+v %v", o, err)
		}
		_, err := svc.As(user("stranger")).GetOrg(ctx, org)
		wantCode(t, err, fault.NotFound)
		_, err = svc.As(authz.Principal{}).GetOrg(ctx, org)
		wantCode(t, err, fault.NotFound)
		must(svc.As(admin).GetOrg(ctx, org))(t)

		name := "Acme Inc"
		_, err = svc.As(user("m")).UpdateOrg(ctx, org, OrgUpdate{Name: &name})
		wantCode(t, err, fault.Forbidden)
		if o := must(svc.As(user("a")).UpdateOrg(ctx, org, OrgUpdate{Name: &name}))(t); o.Name != name {
			t.Fatalf("updated org %+v", o)
		}

		_, _, err = svc.As(user("m")).PutMember(ctx, org, "n", RoleMember, 5)
		wantCode(t, err, fault.Forbidden)
		_, _, err = svc.As(user("a")).PutMember(ctx, org, "n", RoleOwner, 5)
		wantCode(t, err, fault.Forbidden)
		_, _, err = svc.As(user("a")).PutMember(ctx, org, "n", "boss", 5)
		wantCode(t, err, fault.Invalid)
		m, created := must2(svc.As(user("a")).PutMember(ctx, org, "n", RoleMember, 5))(t)
		if !created || m.UserID != "n" || m.Role != RoleMember || m.Level != 5 {
			t.Fatalf("added %+v created=%v", m, created)
		}
		if _, created := must2(svc.As(user("a")).PutMember(ctx, org, "n", RoleAdmin, 7))(t); created {
			t.Fatal("a change reported as an addition")
		}
		row, ok, err := svc.Member(ctx, org, "n")
		if err != nil || !ok || row.Role != RoleAdmin || row.Level != 7 || row.OrgID != org || row.CreatedAt.IsZero() {
			t.Fatalf("Member: %+v %v %v", row, ok, err)
		}
		if _, ok, err := svc.Member(ctx, org, "stranger"); err != nil || ok {
			t.Fatalf("Member of a non-member: %v %v", ok, err)
		}
		if _, ok, err := svc.Member(ctx, "no-such-org", "n"); err != nil || ok {
			t.Fatalf("Member of an unknown org: %v %v", ok, err)
		}

		items, next := must2(svc.As(user("m")).ListMembers(ctx, org, 2, ""))(t)
		rest, last := must2(svc.As(user("m")).ListMembers(ctx, org, 2, next))(t)
		var ids []string
		for _, m := range append(items, rest...) {
			ids = append(ids, m.UserID)
		}
		if next == "" || last != "" || !slices.Equal(ids, []string{"a", "m", "n", "o1"}) {
			t.Fatalf("members %v next %q last %q", ids, next, last)
		}
		_, _, err = svc.As(user("stranger")).ListMembers(ctx, org, 0, "")
		wantCode(t, err, fault.NotFound)

		wantCode(t, svc.As(user("m")).RemoveMember(ctx, org, "n"), fault.Forbidden)
		wantCode(t, svc.As(user("m")).RemoveMember(ctx, org, "m"), "") // leaving
		wantCode(t, svc.As(user("o1")).RemoveMember(ctx, org, "o1"), fault.Conflict)
		wantCode(t, svc.As(user("a")).RemoveMember(ctx, org, "m"), fault.NotFound)
		if _, ok, err := svc.Member(ctx, org, "m"); err != nil || ok {
			t.Fatalf("removed member still there: %v %v", ok, err)
		}
	})
}

func TestMembers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		svc, _ := open(t, st)
		org := fixture(t, svc, false) // owner o1, admin a, member m
		got, err := svc.Members(context.Background(), org, []string{"m", "stranger", "a", "m"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["m"].Role != RoleMember || got["a"].Role != RoleAdmin {
			t.Fatalf("Members: %+v", got)
		}
		if got, err := svc.Members(context.Background(), org, nil); err != nil || len(got) != 0 {
			t.Fatalf("Members(nil): %+v %v", got, err)
		}
	})
}
