package store

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Bounds of the rebind cache: queries built dynamically (IN lists of varying
// length) must not grow it without limit.
const (
	rebindCacheMax      = 10000
	rebindCacheMaxQuery = 8192
)

// rebindCache remembers rebound queries. The sync.Map needs no lock; size is
// only an upper bound on entries, so the cache stops growing at the limit.
type rebindCache struct {
	m    sync.Map // original query → rebound query
	size atomic.Int64
}

func newRebindCache() *rebindCache { return &rebindCache{} }

func (c *rebindCache) rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	if v, ok := c.m.Load(query); ok {
		return v.(string)
	}
	out := rebindDollar(query)
	if len(query) <= rebindCacheMaxQuery && c.size.Load() < rebindCacheMax {
		if _, loaded := c.m.LoadOrStore(query, out); !loaded {
			c.size.Add(1)
		}
	}
	return out
}

// rebindDollar turns each `?` placeholder into $1, $2, … It leaves alone the
// `?` inside single-quoted strings (a doubled quote escapes one), double-quoted
// identifiers, dollar-quoted strings ($$…$$, $tag$…$tag$), -- line comments
// and /* */ comments. E'…' strings with backslash-escaped quotes are not
// understood: do not put `?` in them. Postgres' jsonb operators ?, ?| and ?&
// cannot be written either: use jsonb_exists, jsonb_exists_any and
// jsonb_exists_all.
func rebindDollar(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i++
			continue
		case c == '\'' || c == '"':
			j := skipQuoted(q, i, c)
			b.WriteString(q[i:j])
			i = j
			continue
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j
			continue
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end
			continue
		case c == '$':
			if end, ok := skipDollarQuoted(q, i); ok {
				b.WriteString(q[i:end])
				i = end
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// skipQuoted returns the index just past the quoted run starting at q[i]
// (a doubled quote character is an escaped one), or len(q) if unterminated.
func skipQuoted(q string, i int, quote byte) int {
	for j := i + 1; j < len(q); j++ {
		if q[j] != quote {
			continue
		}
		if j+1 < len(q) && q[j+1] == quote {
			j++
			continue
		}
		return j + 1
	}
	return len(q)
}

// skipDollarQuoted recognizes a dollar-quoted string starting at q[i] ("$$" or
// "$tag$") and returns the index past its closing tag. It reports false when
// q[i] starts something else, such as a $1 parameter.
func skipDollarQuoted(q string, i int) (int, bool) {
	j := i + 1
	for j < len(q) && (q[j] == '_' || isLetter(q[j]) || (j > i+1 && isDigit(q[j]))) {
		j++
	}
	if j >= len(q) || q[j] != '$' {
		return 0, false
	}
	tag := q[i : j+1]
	k := strings.Index(q[j+1:], tag)
	if k < 0 {
		return len(q), true
	}
	return j + 1 + k + len(tag), true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
