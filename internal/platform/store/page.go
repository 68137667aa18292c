package store

// TrimPage ends a keyset page read with LIMIT limit+1: when the extra row is
// there, it is dropped and the next page's cursor is cursor(last kept item);
// otherwise this is the last page (cursor ""). Every list of the platform
// and the apps pages this way.
func TrimPage[T any](items []T, limit int, cursor func(T) string) ([]T, string) {
	if limit < 1 || len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, cursor(items[limit-1])
}
