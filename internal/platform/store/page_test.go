package store

import (
	"slices"
	"strconv"
	"testing"
)

func TestTrimPage(t *testing.T) {
	id := func(n int) string { return strconv.Itoa(n) }
	items, next := TrimPage([]int{1, 2, 3}, 2, id)
	if !slices.Equal(items, []int{1, 2}) || next != "2" {
		t.Errorf("over the limit: %v %q", items, next)
	}
	items, next = TrimPage([]int{1, 2}, 2, id)
	if !slices.Equal(items, []int{1, 2}) || next != "" {
		t.Errorf("at the limit: %v %q", items, next)
	}
	if items, next = TrimPage([]int(nil), 5, id); items != nil || next != "" {
		t.Errorf("empty: %v %q", items, next)
	}
}
