package events

import "testing"

func TestCursorCodec(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ xid, seq int64 }{{0, 0}, {0, 1}, {1, 0}, {1 << 40, 77}, {1<<62 + 3, 1<<62 + 5}} {
		x, s, err := decodeCursor(encodeCursor(c.xid, c.seq))
		if err != nil || x != c.xid || s != c.seq {
			t.Errorf("round trip of %v = %d, %d, %v", c, x, s, err)
		}
	}
	if CompareCursor(encodeCursor(1, 999), encodeCursor(2, 1)) >= 0 || CompareCursor(encodeCursor(2, 9), encodeCursor(2, 10)) >= 0 ||
		CompareCursor("", encodeCursor(0, 0)) >= 0 || CompareCursor(encodeCursor(3, 3), encodeCursor(3, 3)) != 0 {
		t.Error("cursors do not compare in (xid, seq) order")
	}
	for _, bad := range []Cursor{"x", "0000000000000000000000000000000G", "0000000000000000000000000000000A",
		"8000000000000000" + "0000000000000000", "00000000000000000000000000000001" + "0"} {
		if ValidCursor(bad) {
			t.Errorf("ValidCursor(%q) = true", bad)
		}
	}
	if !ValidCursor("") {
		t.Error("the empty cursor is valid")
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add("")
	f.Add(string(encodeCursor(5, 6)))
	f.Fuzz(func(t *testing.T, s string) {
		x, q, err := decodeCursor(Cursor(s))
		if err == nil && s != "" && encodeCursor(x, q) != Cursor(s) {
			t.Errorf("decode(%q) = %d, %d: does not round-trip", s, x, q)
		}
	})
}
