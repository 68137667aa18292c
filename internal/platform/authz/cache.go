package authz

import (
	"sync"
	"time"
)

// tokenCache remembers tokens whose signature has been verified, so that a
// client sending the same token again costs a map lookup instead of a
// signature check (an Ed25519 verification is ~80 µs on the reference
// machine). Only verified tokens enter, so garbage cannot fill it; an entry
// lives at most ttl (a key removed from the JWKS or the platform stops
// working within ttl) and never past the token's exp. exp and nbf are
// checked again on every hit; the app, the org and the membership are
// settled on every request as without the cache. HMAC-signed (HS*) tokens,
// the shared secret's, do not enter (verifier.cacheable): an HMAC is cheaper
// than the entry, which every chat connection would otherwise hold for ttl.
type tokenCache struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	entries map[string]cacheEntry
}

type cacheEntry struct {
	v     *verifier
	c     claims
	until time.Time
}

func newTokenCache(max int, ttl time.Duration) *tokenCache {
	if max <= 0 || ttl <= 0 {
		return nil
	}
	return &tokenCache{max: max, ttl: ttl, entries: make(map[string]cacheEntry)}
}

func (tc *tokenCache) get(token string, now time.Time) (*verifier, claims, bool) {
	if tc == nil {
		return nil, nil, false
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	e, ok := tc.entries[token]
	if !ok {
		return nil, nil, false
	}
	if !now.Before(e.until) {
		delete(tc.entries, token)
		return nil, nil, false
	}
	return e.v, e.c, true
}

func (tc *tokenCache) put(token string, v *verifier, c claims, now, exp time.Time) {
	if tc == nil {
		return
	}
	until := now.Add(tc.ttl)
	if exp.Before(until) {
		until = exp
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for k := range tc.entries { // evict an arbitrary entry when full
		if len(tc.entries) < tc.max {
			break
		}
		delete(tc.entries, k)
	}
	tc.entries[token] = cacheEntry{v: v, c: c, until: until}
}
