package node

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/admin"
	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/events"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/mail"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
	"github.com/tessera-dev/tessera/internal/platform/store"
)

// keyRotation is when the platform's token signing key is replaced: weekly,
// Sundays 03:00 UTC (old public keys stay in the JWKS until their tokens
// have expired).
const keyRotation = "0 3 * * 0"

// Identity is the platform's identity services over one store, built the
// same way for a node and for the CLI's user, org, admin-key and token
// commands.
type Identity struct {
	Events    *events.Log
	Mail      *mail.Outbox
	Keys      *identity.KeySet
	Users     *identity.Pool
	Orgs      *orgs.Service
	AdminKeys *authz.AdminKeys
}

// OpenIdentity builds the identity services of cfg on st (migrated): the
// event log, the mail outbox, the signing keys (issuer: public_url), the
// user pool (with the apps' clients and the configured argon2id cost), the
// organizations and the admin keys.
func OpenIdentity(cfg *config.Config, st *store.Store, clients []identity.Client) (*Identity, error) {
	log := events.New(st, events.Options{Retention: time.Duration(cfg.Events.Retention)})
	outbox, err := openMail(cfg, st, log)
	if err != nil {
		return nil, err
	}
	keys := identity.NewKeySet(st, identity.KeyOptions{Issuer: cfg.PublicURL})
	argon := identity.DefaultArgon2
	argon.Time, argon.Memory, argon.Threads = cfg.Auth.Argon2.Time, cfg.Auth.Argon2.Memory, cfg.Auth.Argon2.Threads
	users, err := identity.NewPool(st, keys, log, outbox, identity.PoolOptions{Clients: clients, Argon2: argon})
	if err != nil {
		return nil, err
	}
	return &Identity{
		Events: log, Mail: outbox, Keys: keys, Users: users,
		Orgs:      orgs.New(st, log, orgs.Options{}),
		AdminKeys: authz.NewAdminKeys(st.App(authz.Schema)),
	}, nil
}

// openAuth builds the authorizer that turns credentials into a Principal for
// every route, and schedules the key rotation.
func (n *Node) openAuth() error {
	var err error
	n.auth, err = authz.New(authz.Options{
		PlatformIssuer: n.cfg.PublicURL,
		PlatformKeys:   n.id.Keys,
		Issuers:        n.cfg.Auth.Issuers,
		SharedSecret:   n.cfg.Messaging.JWTSecret,
		SharedIssuer:   n.cfg.Messaging.JWTIssuer,
		SharedAudience: n.cfg.Messaging.JWTAudience,
		AdminKeys:      n.id.AdminKeys,
		// Admin keys reach /admin, and /orgs, where they act as an owner of
		// every org (members, levels, groups: the console's org page).
		AdminKeyApps: []string{authz.AppAdmin, orgs.App},
		Directory:    n.id.Orgs,
		Logger:       n.log,
	})
	if err != nil {
		return &config.Error{Key: "auth.issuers", Msg: err.Error()}
	}
	return n.jobs.Schedule(jobs.Schedule{Name: "identity.keys.rotate", Cron: keyRotation, TimeZone: "UTC",
		Run: n.id.Keys.Rotate})
}

// mountAuth registers the platform's identity routes: /auth, /orgs, the
// admin API (admin keys only) and the well-known documents of the token
// issuer.
func (n *Node) mountAuth() {
	n.id.Users.Register(n.edge.API())
	n.id.Orgs.Register(n.edge.API())
	admin.New(admin.Deps{Store: n.store, Events: n.events, Jobs: n.jobs, Mail: n.mail, Orgs: n.id.Orgs, Users: n.id.Users,
		AdminKeys: n.id.AdminKeys}).Register(n.edge.API())
	n.edge.Handle("GET /.well-known/jwks.json", http.HandlerFunc(n.serveJWKS))
	n.edge.Handle("GET /.well-known/openid-configuration", http.HandlerFunc(n.serveOpenIDConfiguration))
}

func (n *Node) serveJWKS(w http.ResponseWriter, r *http.Request) {
	body, err := n.id.Keys.JWKSJSON(r.Context())
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Short: a rotated key must reach verifiers well before it signs.
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(body)
}

func (n *Node) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	issuer := n.id.Keys.Issuer()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              issuer + "/.well-known/jwks.json",
		"token_endpoint":                        issuer + "/auth/token",
		"response_types_supported":              []string{"token"},
		"grant_types_supported":                 []string{"password", "refresh_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{identity.Algorithm},
		"token_endpoint_auth_methods_supported": []string{"none"},
	})
}
