package authz

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
)

// AppAdmin is the app name of the /admin routes: the only app admin API keys
// reach unless Options.AdminKeyApps says otherwise.
const AppAdmin = "admin"

// OrgHeader is the request header carrying the principal's org downstream.
const OrgHeader = "X-Org-ID"

// ErrUnknownKey is what a PlatformKeys implementation may return (or wrap)
// for a kid it does not know; a nil key with a nil error means the same.
var ErrUnknownKey = errors.New("authz: unknown key id")

// PlatformKeys gives the public keys of the platform's own signing keys
// (identity): PublicKey returns the key with that kid (an ed25519.PublicKey
// for EdDSA, an *rsa.PublicKey for RS256), nil or ErrUnknownKey when the kid
// is unknown, and another error only when the lookup itself failed.
type PlatformKeys interface {
	PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error)
}

// Membership is a user's place in an org, as the directory (orgs) holds it
// at request time.
type Membership struct {
	Role   string
	Level  int
	Groups []string
}

// Directory is what the authorizer needs from organizations.
//
// Membership returns the user's membership of the org, and false when the
// user is not a member (or the org does not exist). ResolveOrg returns the id
// of the org whose id or external_id is idOrExternalID, and false when there
// is none. Errors mean the lookup failed (they become 503 or 500).
type Directory interface {
	Membership(ctx context.Context, orgID, userID string) (Membership, bool, error)
	ResolveOrg(ctx context.Context, idOrExternalID string) (orgID string, ok bool, err error)
}

// AdminKeyVerifier checks admin API keys; *AdminKeys is the implementation.
// Verify returns false for an unknown or revoked key or a wrong secret.
type AdminKeyVerifier interface {
	Verify(ctx context.Context, keyID, secret string) (bool, error)
}

// Options configure an Authorizer. Only what is set is accepted: no
// PlatformKeys means no platform tokens, no SharedSecret no shared-secret
// tokens, no AdminKeys no admin keys.
type Options struct {
	// PlatformIssuer is the iss of platform access tokens: the public_url.
	PlatformIssuer string
	// PlatformAudience is their aud; empty means "tessera".
	PlatformAudience string
	// PlatformAlgorithms are the algorithms platform tokens may use; empty
	// means EdDSA only.
	PlatformAlgorithms []string
	PlatformKeys       PlatformKeys

	// Issuers are the external issuers (config auth.issuers).
	Issuers []config.Issuer

	// SharedSecret is the HS256 secret of the nano-messaging tokens
	// (messaging.jwt_secret); empty disables them.
	SharedSecret string
	// SharedApps are the apps shared-secret tokens reach; empty means
	// messaging only.
	SharedApps []string
	// SharedIssuer and SharedAudience, when set, are required of
	// shared-secret tokens (iss and aud).
	SharedIssuer, SharedAudience string

	// AdminKeys verifies admin API keys over Basic auth.
	AdminKeys AdminKeyVerifier
	// AdminKeyApps are the apps admin keys reach; empty means admin only.
	// Basic credentials sent to other apps are ignored (not an error): an
	// app may use Basic for its own purpose (the files app's share-link
	// passwords).
	AdminKeyApps []string

	// Directory resolves orgs and memberships; required.
	Directory Directory

	// HTTPClient fetches JWKS; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// JWKSMinRefresh is the least time between two fetches of one JWKS
	// (unknown kids do not fetch more often); zero means 30 s.
	JWKSMinRefresh time.Duration
	// JWKSMaxAge is how long fetched keys are used before a refresh; zero
	// means 1 h.
	JWKSMaxAge time.Duration
	// TokenCacheSize is how many verified tokens are remembered (see
	// tokenCache); zero means 10,000, negative disables the cache.
	TokenCacheSize int
	// TokenCacheTTL is how long a verified token is remembered at most;
	// zero means 1 min.
	TokenCacheTTL time.Duration
	// Leeway is the clock skew allowed on exp and nbf; zero means 60 s.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives JWKS fetch failures; nil means slog.Default().
	Logger *slog.Logger
}

// Authorizer turns credentials into a Principal. It is safe for concurrent
// use.
type Authorizer struct {
	platform  *verifier
	external  map[string]*verifier // by iss
	shared    *verifier
	adminKeys AdminKeyVerifier
	adminApps []string
	dir       Directory
	cache     *tokenCache
	leeway    time.Duration
	now       func() time.Time
	log       *slog.Logger
}

// New returns an Authorizer for opts. It fails on an unusable issuer (an
// unreadable key_file, an HS algorithm for an external issuer, two issuers
// with the same iss).
func New(opts Options) (*Authorizer, error) {
	if opts.Directory == nil {
		return nil, errors.New("authz: Options.Directory is required")
	}
	a := &Authorizer{
		external:  map[string]*verifier{},
		adminKeys: opts.AdminKeys,
		adminApps: orDefault(opts.AdminKeyApps, []string{AppAdmin}),
		dir:       opts.Directory,
		leeway:    opts.Leeway,
		now:       opts.Now,
		log:       opts.Logger,
	}
	if opts.TokenCacheSize == 0 {
		opts.TokenCacheSize = 10_000
	}
	a.cache = newTokenCache(opts.TokenCacheSize, durOr(opts.TokenCacheTTL, time.Minute))
	if a.leeway == 0 {
		a.leeway = 60 * time.Second
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if opts.PlatformKeys != nil {
		if opts.PlatformIssuer == "" {
			return nil, errors.New("authz: PlatformIssuer is required with PlatformKeys")
		}
		algs, err := asymmetricAlgs(orDefault(opts.PlatformAlgorithms, []string{"EdDSA"}))
		if err != nil {
			return nil, fmt.Errorf("authz: platform: %w", err)
		}
		a.platform = &verifier{
			name:     "platform",
			via:      ViaPlatform,
			issuer:   opts.PlatformIssuer,
			audience: cmp(opts.PlatformAudience, "tessera"),
			algs:     algs,
			allApps:  true,
			keys:     platformKeySource{opts.PlatformKeys},
			claims:   platformClaims,
		}
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	for i, iss := range opts.Issuers {
		v, err := newExternal(iss, client, opts, a.now, a.log)
		if err != nil {
			return nil, fmt.Errorf("authz: auth.issuers[%d] (%s): %w", i, iss.Name, err)
		}
		if _, dup := a.external[v.issuer]; dup || (a.platform != nil && v.issuer == a.platform.issuer) {
			return nil, fmt.Errorf("authz: auth.issuers[%d] (%s): issuer %q is used twice", i, iss.Name, v.issuer)
		}
		a.external[v.issuer] = v
	}
	if opts.SharedSecret != "" {
		a.shared = &verifier{
			name:     "shared",
			via:      ViaShared,
			issuer:   opts.SharedIssuer,
			audience: opts.SharedAudience,
			algs:     []string{"HS256"},
			apps:     orDefault(opts.SharedApps, []string{"messaging"}),
			keys:     staticKey{[]byte(opts.SharedSecret)},
			claims:   sharedClaims,
		}
	}
	return a, nil
}

// Authenticate establishes the principal of r for app: ok is false when r
// carries no credentials (anonymous). A bad credential is an error carrying
// a fault (unauthorized, forbidden, unavailable) and the WWW-Authenticate
// challenge; it can be written with httpapi.WriteProblem. It does not look
// at X-Org-ID beyond choosing the org.
func (a *Authorizer) Authenticate(r *http.Request, app string) (p Principal, ok bool, err error) {
	return a.authenticate(r, app, r.Header.Get(OrgHeader))
}

// authenticate is Authenticate with the client's org choice given.
func (a *Authorizer) authenticate(r *http.Request, app, orgChoice string) (p Principal, ok bool, err error) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return Principal{}, false, nil
	}
	scheme, cred, _ := strings.Cut(authz, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		p, err = a.authenticateToken(r.Context(), cred, app, orgChoice)
	case strings.EqualFold(scheme, "Basic"):
		if !slices.Contains(a.adminApps, app) {
			return Principal{}, false, nil // not ours: the app may use Basic itself
		}
		p, err = a.authenticateBasic(r.Context(), cred, orgChoice)
	default:
		return Principal{}, false, unauthorized(challengeBearer, "unsupported authorization scheme")
	}
	if err != nil {
		return Principal{}, false, err
	}
	return p, true, nil
}

// Middleware returns the authorizer middleware for app (the first path
// segment of its routes: "records", "orgs", "admin", ...). A request without
// credentials passes through anonymous (handlers that need a principal check
// FromContext and return fault.Unauthorized); one with bad credentials gets
// the problem (401 with WWW-Authenticate, 403, 503). Otherwise the Principal
// is put in the context, and the X-Org-ID request header is replaced with the
// principal's org, or removed when it has none: a client-sent value never
// reaches a handler unchecked.
func (a *Authorizer) Middleware(app string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.serve(w, r, app, next)
		})
	}
}

// Handler is the one middleware for the whole mux: it serves r as
// Middleware(AppOf(r.URL.Path)) would.
func (a *Authorizer) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.serve(w, r, AppOf(r.URL.Path), next)
	})
}

// AppOf returns the app a path belongs to: its first segment ("/records/x"
// → "records", "/admin/users" → "admin", "/" → "").
func AppOf(path string) string {
	path = strings.TrimPrefix(path, "/")
	app, _, _ := strings.Cut(path, "/")
	return app
}

func (a *Authorizer) serve(w http.ResponseWriter, r *http.Request, app string, next http.Handler) {
	p, ok, err := a.Authenticate(r, app)
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if !ok {
		r.Header.Del(OrgHeader)
		next.ServeHTTP(w, r)
		return
	}
	if p.OrgID != "" {
		r.Header.Set(OrgHeader, p.OrgID)
	} else {
		r.Header.Del(OrgHeader)
	}
	next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
}

// UpgradeOrgChoice is the org a websocket upgrade chooses: its org_id query
// parameter, else its X-Org-ID header (see AuthenticateUpgrade).
func UpgradeOrgChoice(r *http.Request) string {
	if org := r.URL.Query().Get("org_id"); org != "" {
		return org
	}
	return r.Header.Get(OrgHeader)
}

// AuthenticateUpgrade authenticates a websocket upgrade for app: the token
// comes from the access_token or token query parameter, the Authorization
// header, or a "bearer.<token>" Sec-WebSocket-Protocol entry, in that order.
// subprotocol is the entry to echo in the handshake response when the token
// came from Sec-WebSocket-Protocol (the client requires it echoed), "" else.
// The org choice comes from the org_id query parameter (browsers cannot set
// headers on a websocket) or else the X-Org-ID header: the query wins when
// both are set, and it is checked alike (403 for an org the user is not a
// member of). No credentials at all is an unauthorized error here: a socket
// is either authenticated at connect or not opened (apps that authenticate
// inside the socket, like the messaging chat, call VerifyToken instead).
func (a *Authorizer) AuthenticateUpgrade(r *http.Request, app string) (p Principal, subprotocol string, err error) {
	q := r.URL.Query()
	orgChoice := UpgradeOrgChoice(r)
	token := q.Get("access_token")
	if token == "" {
		token = q.Get("token")
	}
	if token == "" {
		if h := r.Header.Get("Authorization"); h != "" {
			p, ok, err := a.authenticate(r, app, orgChoice)
			if err != nil {
				return Principal{}, "", err
			}
			if !ok {
				return Principal{}, "", unauthorized(challengeBearer, "credentials required")
			}
			return p, "", nil
		}
		for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
			for _, proto := range strings.Split(h, ",") {
				proto = strings.TrimSpace(proto)
				if t, ok := strings.CutPrefix(proto, "bearer."); ok && token == "" {
					token, subprotocol = t, proto
				}
			}
		}
	}
	if token == "" {
		return Principal{}, "", unauthorized(challengeBearer, "credentials required")
	}
	p, err = a.authenticateToken(r.Context(), token, app, orgChoice)
	if err != nil {
		return Principal{}, "", err
	}
	return p, subprotocol, nil
}

// VerifyToken authenticates a bearer token for app outside a request (a
// websocket's in-band token, as the messaging chat sends it). orgChoice is
// the org the client asks for ("" for the token's own).
func (a *Authorizer) VerifyToken(ctx context.Context, token, app, orgChoice string) (Principal, error) {
	return a.authenticateToken(ctx, token, app, orgChoice)
}

// resolveOrg settles the principal's org and, from the directory, its role,
// level and groups. tokenOrg is the org the credential names (already
// resolved to an org id); choice is the client's X-Org-ID (or, on a
// websocket upgrade, its org_id query parameter).
//
//   - A choice other than the token's org must be an org the user is a
//     member of (403 otherwise).
//   - Membership, when the user has one in the org, gives role, level and
//     groups at request time, whatever the token says.
//   - Without a membership, a platform token's org is refused (403); an
//     external or shared-secret token keeps what its issuer asserts.
func (a *Authorizer) resolveOrg(ctx context.Context, p *Principal, tokenOrg, choice string) error {
	choice = strings.TrimSpace(choice)
	if p.IsAdmin {
		if choice == "" {
			return nil
		}
		id, ok, err := a.dir.ResolveOrg(ctx, choice)
		if err != nil {
			return lookupFailed(err)
		}
		if !ok {
			return fault.New(fault.Forbidden, "unknown organization")
		}
		p.OrgID = id
		return nil
	}
	org, chosen := tokenOrg, false
	if choice != "" && choice != tokenOrg {
		org, chosen = choice, true
	}
	if org == "" {
		return nil
	}
	m, member := Membership{}, false
	if p.UserID != "" {
		var err error
		m, member, err = a.dir.Membership(ctx, org, p.UserID)
		if err != nil {
			return lookupFailed(err)
		}
	}
	switch {
	case member:
		p.Role, p.Level, p.Groups = m.Role, m.Level, m.Groups
	case chosen:
		return fault.New(fault.Forbidden, "not a member of the chosen organization (X-Org-ID or org_id)")
	case p.Via == ViaPlatform:
		return fault.New(fault.Forbidden, "not a member of the token's organization")
	}
	p.OrgID = org
	return nil
}

func lookupFailed(err error) error {
	if fault.As(err) != nil {
		return err
	}
	return fault.Wrap(err, fault.Unavailable, "the directory is unavailable")
}

func orDefault(v, def []string) []string {
	if len(v) == 0 {
		return def
	}
	return v
}

func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
