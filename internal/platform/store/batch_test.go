package store

import (
	"slices"
	"testing"
)

func TestChunks(t *testing.T) {
	for _, c := range []struct {
		n, max int
		want   []int
	}{
		{0, 64, nil}, {1, 64, []int{1}}, {37, 64, []int{32, 4, 1}}, {64, 64, []int{64}}, {130, 64, []int{64, 64, 2}},
	} {
		if got := Chunks(c.n, c.max); !slices.Equal(got, c.want) {
			t.Errorf("Chunks(%d, %d) = %v, want %v", c.n, c.max, got, c.want)
		}
	}
	if got := Values(2, 3); got != "(?, ?, ?), (?, ?, ?)" {
		t.Errorf("Values(2, 3) = %q", got)
	}
}

func TestIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ids  []string
		list string
		args []any
	}{
		{[]string{"a"}, "?", []any{"a"}},
		{[]string{"a", "b", "a", "c"}, "?, ?, ?, ?", []any{"a", "b", "c", "a"}},
		{[]string{"a", "b"}, "?, ?", []any{"a", "b"}},
	} {
		list, args := In(tc.ids)
		if list != tc.list || !slices.Equal(args, tc.args) {
			t.Errorf("In(%q) = %q %v, want %q %v", tc.ids, list, args, tc.list, tc.args)
		}
	}
}

func TestSplit(t *testing.T) {
	items := []int{0, 1, 2, 3, 4, 5, 6}
	parts := Split(items, 4)
	var lens []int
	var joined []int
	for _, p := range parts {
		lens = append(lens, len(p))
		joined = append(joined, p...)
	}
	if !slices.Equal(lens, []int{4, 2, 1}) || !slices.Equal(joined, items) {
		t.Fatalf("Split: sizes %v, items %v", lens, joined)
	}
	parts[0] = append(parts[0], 99) // capped: cannot overwrite the next part
	if items[4] != 4 {
		t.Fatalf("a part's append overwrote the next: %v", items)
	}
	if got := Split([]int{}, 4); len(got) != 0 {
		t.Fatalf("Split(empty) = %v", got)
	}
}
