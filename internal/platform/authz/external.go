package authz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// maxJWKSSize bounds a JWKS response.
const maxJWKSSize = 1 << 20

// newExternal builds the verifier of one configured external issuer.
func newExternal(iss config.Issuer, client *http.Client, opts Options, now func() time.Time, log *slog.Logger) (*verifier, error) {
	if iss.Issuer == "" || iss.Audience == "" {
		return nil, errors.New("issuer and audience are required")
	}
	if iss.Claims["user"] == "" {
		return nil, errors.New("claims.user is required")
	}
	algs, err := asymmetricAlgs(orDefault(iss.Algorithms, []string{"RS256"}))
	if err != nil {
		return nil, err
	}
	v := &verifier{
		name:     iss.Name,
		via:      ViaExternal,
		issuer:   iss.Issuer,
		audience: iss.Audience,
		algs:     algs,
		apps:     iss.Apps,
		claims:   externalClaims,
		mapping:  iss.Claims,
	}
	switch {
	case iss.JWKSURL != "" && iss.KeyFile != "":
		return nil, errors.New("give jwks_url or key_file, not both")
	case iss.JWKSURL != "":
		v.keys = &remoteKeys{
			url:         iss.JWKSURL,
			client:      client,
			minInterval: durOr(opts.JWKSMinRefresh, 30*time.Second),
			maxAge:      durOr(opts.JWKSMaxAge, time.Hour),
			now:         now,
			log:         log.With("issuer", iss.Name),
		}
	case iss.KeyFile != "":
		data, err := os.ReadFile(iss.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("key_file: %w", err)
		}
		k, err := ParsePublicKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("key_file %s: %w", iss.KeyFile, err)
		}
		v.keys = staticKey{k}
	default:
		return nil, errors.New("jwks_url or key_file is required")
	}
	return v, nil
}

func durOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// externalClaims maps an external issuer's token with its claims mapping:
// user (required), org (resolved by org id or external_id: unknown → 403),
// level, scopes, role and email.
func externalClaims(ctx context.Context, a *Authorizer, v *verifier, c claims) (Principal, string, error) {
	p := Principal{Via: v.via, Issuer: v.name}
	p.UserID = claimString(c, v.mapping["user"])
	if p.UserID == "" {
		return Principal{}, "", invalidToken("no user claim")
	}
	if name := v.mapping["email"]; name != "" {
		p.Email = claimString(c, name)
	} else {
		p.Email, _ = c["email"].(string)
	}
	p.ClientID, _ = c["azp"].(string)
	scopeClaim := v.mapping["scopes"]
	if scopeClaim == "" {
		scopeClaim = "scope"
	}
	if raw, ok := c[scopeClaim]; ok {
		p.Scopes = scopesOf(raw)
	}
	if name := v.mapping["level"]; name != "" {
		if raw, ok := c[name]; ok {
			l, ok := levelOf(raw)
			if !ok {
				return Principal{}, "", invalidToken("bad level claim")
			}
			p.Level = l
		}
	}
	if name := v.mapping["role"]; name != "" {
		p.Role = claimString(c, name)
	}
	var org string
	if name := v.mapping["org"]; name != "" {
		if raw := claimString(c, name); raw != "" {
			id, ok, err := a.dir.ResolveOrg(ctx, raw)
			if err != nil {
				return Principal{}, "", lookupFailed(err)
			}
			if !ok {
				return Principal{}, "", fault.New(fault.Forbidden, "the token names an unknown organization")
			}
			org = id
		}
	}
	return p, org, nil
}

func claimString(c claims, name string) string {
	if name == "" {
		return ""
	}
	s, _ := c[name].(string)
	return s
}

// remoteKeys is a JWKS fetched over HTTP and cached. An unknown kid
// refreshes it, at most once per minInterval whatever the kids presented
// (garbage kids cannot hammer the endpoint); keys older than maxAge are
// refreshed on use. A failed refresh keeps the keys already known.
type remoteKeys struct {
	url         string
	client      *http.Client
	minInterval time.Duration
	maxAge      time.Duration
	now         func() time.Time
	log         *slog.Logger

	mu          sync.RWMutex
	keys        map[string]jwkEntry // by kid
	fetched     time.Time           // last successful fetch
	lastAttempt time.Time
	lastErr     error
	fetching    sync.Mutex // one fetch at a time
}

func (r *remoteKeys) key(ctx context.Context, kid string) (any, error) {
	if kid == "" {
		return nil, errNoKey
	}
	now := r.now()
	r.mu.RLock()
	k, ok := r.keys[kid]
	fresh := now.Sub(r.fetched) < r.maxAge
	r.mu.RUnlock()
	if ok && fresh {
		return k, nil
	}
	r.fetching.Lock()
	defer r.fetching.Unlock()
	r.mu.RLock()
	k, ok = r.keys[kid]
	fresh = now.Sub(r.fetched) < r.maxAge
	may := r.lastAttempt.IsZero() || now.Sub(r.lastAttempt) >= r.minInterval
	r.mu.RUnlock()
	if ok && fresh {
		return k, nil
	}
	if may {
		r.refresh(ctx)
		r.mu.RLock()
		k, ok = r.keys[kid]
		r.mu.RUnlock()
	}
	if ok {
		return k, nil
	}
	r.mu.RLock()
	lastErr, none := r.lastErr, len(r.keys) == 0
	r.mu.RUnlock()
	if lastErr != nil && none {
		return nil, &fault.Error{Code: fault.Unavailable, Message: "the token issuer's keys cannot be fetched", RetryAfter: int(r.minInterval / time.Second), Err: lastErr}
	}
	return nil, errNoKey
}

// refresh fetches the JWKS; the caller holds r.fetching.
func (r *remoteKeys) refresh(ctx context.Context) {
	keys, err := r.fetch(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastAttempt = r.now()
	r.lastErr = err
	if err != nil {
		r.log.WarnContext(ctx, "authz: JWKS fetch failed", "url", r.url, "error", err.Error())
		return
	}
	r.keys, r.fetched = keys, r.lastAttempt
}

func (r *remoteKeys) fetch(ctx context.Context) (map[string]jwkEntry, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil) //nolint:gosec // G704: jwks_url is the operator's configuration, not client input
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req) //nolint:gosec // G704: jwks_url is the operator's configuration, not client input
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSSize {
		return nil, errors.New("JWKS larger than 1 MiB")
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	return keys, nil
}
