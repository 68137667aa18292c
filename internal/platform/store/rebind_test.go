package store

import "testing"

func TestRebindDollar(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT ?", "SELECT $1"},
		{"INSERT INTO t (a, b) VALUES (?, ?)", "INSERT INTO t (a, b) VALUES ($1, $2)"},
		{"SELECT '?' || ?", "SELECT '?' || $1"},
		{"SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"},
		{`SELECT "we?rd" FROM t WHERE a = ?`, `SELECT "we?rd" FROM t WHERE a = $1`},
		{"SELECT ? -- a ?\n, ?", "SELECT $1 -- a ?\n, $2"},
		{"SELECT /* ? */ ?", "SELECT /* ? */ $1"},
		{"SELECT $$ ? $$, ?", "SELECT $$ ? $$, $1"},
		{"SELECT $fn$ it's ? $fn$, ?", "SELECT $fn$ it's ? $fn$, $1"},
		{"SELECT $1, ?", "SELECT $1, $1"}, // mixing styles is the caller's problem
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?"},
		{"SELECT ? -- trailing ?", "SELECT $1 -- trailing ?"},
		{"SELECT ?, /* open ?", "SELECT $1, /* open ?"},
	}
	for _, c := range cases {
		if got := rebindDollar(c.in); got != c.want {
			t.Errorf("rebindDollar(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRebindCache(t *testing.T) {
	t.Parallel()
	c := newRebindCache()
	q := "SELECT ? FROM t WHERE '?' = ?"
	for range 3 {
		if got := c.rebind(q); got != "SELECT $1 FROM t WHERE '?' = $2" {
			t.Fatalf("rebind = %q", got)
		}
	}
	if n := c.size.Load(); n != 1 {
		t.Errorf("cache holds %d entries, want 1", n)
	}
	if got := c.rebind("SELECT 1"); got != "SELECT 1" || c.size.Load() != 1 {
		t.Errorf("query without ? rebound to %q or cached", got)
	}
}

func FuzzRebindDollar(f *testing.F) {
	for _, s := range []string{"SELECT ?", "'?'", "$a$?$a$", "-- ?\n?", "/* ? */?", `"?"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out := rebindDollar(q)
		// Every ? outside quotes and comments became $n: never more ? than before.
		if countByte(out, '?') > countByte(q, '?') {
			t.Fatalf("rebindDollar(%q) = %q adds ?", q, out)
		}
	})
}

func countByte(s string, c byte) int {
	n := 0
	for i := range len(s) {
		if s[i] == c {
			n++
		}
	}
	return n
}
