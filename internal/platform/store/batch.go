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

// Values returns the VALUES list of a multi-row INSERT: rows groups of cols
// placeholders, "(?, ?), (?, ?)".
func Values(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}
