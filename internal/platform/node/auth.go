package node

import (
	"encoding/json"
	"net/http"

	"github.com/tessera-dev/tessera/internal/platform/admin"
	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/httpapi"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/jobs"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
)

// keyRotation is when the platform's token signing key is replaced: weekly,
// Sundays 03:00 UTC (old public keys stay in the JWKS until their tokens
// have expired).
const keyRotation = "0 3 * * 0"

// openAuth builds the identity key set, the organizations directory and the
// authorizer that turns credentials into a Principal for every route.
func (n *Node) openAuth() error {
	n.keys = identity.NewKeySet(n.store, identity.KeyOptions{Issuer: n.cfg.PublicURL})
	n.orgs = orgs.New(n.store, n.events, orgs.Options{})
	var err error
	n.auth, err = authz.New(authz.Options{
		PlatformIssuer: n.cfg.PublicURL,
		PlatformKeys:   n.keys,
		Issuers:        n.cfg.Auth.Issuers,
		SharedSecret:   n.cfg.Messaging.JWTSecret,
		AdminKeys:      authz.NewAdminKeys(n.store.App(authz.Schema)),
		Directory:      n.orgs,
		Logger:         n.log,
	})
	if err != nil {
		return &config.Error{Key: "auth.issuers", Msg: err.Error()}
	}
	return n.jobs.Schedule(jobs.Schedule{Name: "identity.keys.rotate", Cron: keyRotation, TimeZone: "UTC",
		Run: n.keys.Rotate})
}

// mountAuth registers the platform's identity routes: /orgs, the admin API
// (admin keys only) and the well-known documents of the token issuer.
func (n *Node) mountAuth() {
	n.orgs.Register(n.edge.API())
	admin.New(admin.Deps{Store: n.store, Events: n.events, Jobs: n.jobs, Mail: n.mail, Orgs: n.orgs}).Register(n.edge.API())
	n.edge.Handle("GET /.well-known/jwks.json", http.HandlerFunc(n.serveJWKS))
	n.edge.Handle("GET /.well-known/openid-configuration", http.HandlerFunc(n.serveOpenIDConfiguration))
}

func (n *Node) serveJWKS(w http.ResponseWriter, r *http.Request) {
	body, err := n.keys.JWKSJSON(r.Context())
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
	issuer := n.keys.Issuer()
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
