package store

import "strings"

// Chunks splits n rows into the sizes of multi-row statements: powers of
// two, largest first, none over max (a power of two). A batch of any size
// then uses at most log2(max)+1 distinct statement texts, which the
// statement caches keep (SQLite's here, pgx's on Postgres).
func Chunks(n, max int) []int {
	var sizes []int
	for n > 0 {
		c := max
		for c > n {
			c /= 2
		}
		sizes = append(sizes, c)
		n -= c
	}
	return sizes
}

// Split cuts items into the slices of Chunks(len(items), max), in order.
func Split[T any](items []T, max int) [][]T {
	sizes := Chunks(len(items), max)
	out := make([][]T, 0, len(sizes))
	for _, n := range sizes {
		out = append(out, items[:n:n])
		items = items[n:]
	}
	return out
}

// Values returns the VALUES list of a multi-row INSERT: rows groups of cols
// placeholders, "(?, ?), (?, ?)".
func Values(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// In returns the placeholders of an IN list for ids, deduplicated, and
// their arguments: "?, ?, ?". The list is padded (repeating an id) to a
// power of two so that few distinct query texts reach the statement caches.
// ids must not be empty.
func In[T comparable](ids []T) (string, []any) {
	seen := make(map[T]struct{}, len(ids))
	args := make([]any, 0, len(ids))
	for _, id := range ids {
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			args = append(args, id)
		}
	}
	n := 1
	for n < len(args) {
		n *= 2
	}
	for len(args) < n {
		args = append(args, args[0])
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", "), args
}

// ContainsFold returns a WHERE condition matching rows whose column
// contains text, case-insensitively, with LIKE's wildcards in text taken
// literally, and its argument: ("lower(name) LIKE ? ESCAPE '!'", "%ab!%c%").
// column must be a trusted column name.
func ContainsFold(column, text string) (string, any) {
	esc := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(strings.ToLower(text))
	return "lower(" + column + ") LIKE ? ESCAPE '!'", "%" + esc + "%"
}
