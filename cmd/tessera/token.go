package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/node"
)

// maxLevel is the highest member level (levelOnEntity).
const maxLevel = 1_000_000

// mintFlags are token mint's flags.
type mintFlags struct {
	user, org, scopes, entity, notBefore string
	level                                int
	ttl                                  time.Duration
	asJSON                               bool
}

// mintedToken is token mint --json's object.
type mintedToken struct {
	Token string `json:"token"`
}

func (c *cli) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint tokens (for tests and for the messaging shared-secret scheme)",
		Args:  cobra.NoArgs,
		RunE:  groupHelp,
	}
	cmd.AddCommand(c.tokenMintCommand())
	return cmd
}

func (c *cli) tokenMintCommand() *cobra.Command {
	var f mintFlags
	cmd := &cobra.Command{
		Use:   "mint --user USER_ID [--entity ENTITY --level N]",
		Short: "Mint a platform access token, or with --entity a nano-messaging HS256 token",
		Long: `Mint a token and print it (with --json, one object {"token"}).

Without --entity: a platform access token for --user, signed (EdDSA) with the
node's current signing key, for the node's public_url as issuer; pass the same
--public-url (or --addr) as the server that is to accept it. --ttl may be
negative (an already expired token, for tests) and is at most 1h.
A platform token's level and role come from the user's org membership at
request time, not from the token.

With --entity: the nano-messaging shared-secret form, HS256 with
messaging.jwt_secret, claims userUUID (--user), entityUUID (--entity),
levelOnEntity (--level, 0–1,000,000), iat, exp and nbf (--not-before).`,
		Example: `  tessera token mint --user 0190c4c2-… --ttl 5m --json
  tessera token mint --user u1 --entity e1 --level 100 --messaging-jwt-secret s3cret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nbf, err := f.check(cmd)
			if err != nil {
				return err
			}
			var token string
			if f.entity != "" {
				cfg, err := c.loadConfig(cmd)
				if err != nil {
					return err
				}
				if token, err = mintShared(cfg.Messaging.JWTSecret, f, nbf, time.Now()); err != nil {
					return err
				}
			} else {
				err := c.withIdentity(cmd, func(ctx context.Context, cfg *config.Config, id *node.Identity) error {
					var err error
					claims := identity.Claims{UserID: f.user, OrgID: f.org, TTL: f.ttl, NotBefore: nbf}
					if cmd.Flags().Changed("scopes") {
						claims.Scopes = strings.Fields(f.scopes)
					}
					token, err = id.Keys.Mint(ctx, claims)
					return err
				})
				if err != nil {
					return err
				}
			}
			if f.asJSON {
				return c.printJSON(mintedToken{Token: token})
			}
			_, err = fmt.Fprintln(c.stdout, token)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.user, "user", "", "the user id (sub, or userUUID with --entity); required")
	fl.StringVar(&f.org, "org", "", "the org the token is for (org_id)")
	fl.IntVar(&f.level, "level", 0, "levelOnEntity, 0–1,000,000 (with --entity)")
	fl.StringVar(&f.scopes, "scopes", "", `space-separated scopes ("a b")`)
	fl.DurationVar(&f.ttl, "ttl", identity.DefaultAccessTTL, "lifetime (Go duration; negative: already expired)")
	fl.StringVar(&f.notBefore, "not-before", "", "the token's nbf (RFC 3339)")
	fl.StringVar(&f.entity, "entity", "", "mint the nano-messaging HS256 form for this entity (entityUUID)")
	fl.BoolVar(&f.asJSON, "json", false, `print {"token"}`)
	return cmd
}

// check validates the flags' combination and returns --not-before parsed.
func (f *mintFlags) check(cmd *cobra.Command) (time.Time, error) {
	fail := func(format string, args ...any) (time.Time, error) {
		return time.Time{}, fmt.Errorf("token mint: "+format, args...)
	}
	if f.user == "" {
		return fail("--user is required")
	}
	if f.ttl == 0 {
		return fail("--ttl must not be 0")
	}
	var nbf time.Time
	if f.notBefore != "" {
		t, err := time.Parse(time.RFC3339, f.notBefore)
		if err != nil {
			return fail("--not-before %q is not an RFC 3339 time (such as 2026-01-02T15:04:05Z)", f.notBefore)
		}
		nbf = t
	}
	levelSet := cmd.Flags().Changed("level")
	if f.entity != "" {
		switch {
		case f.org != "":
			return fail("--org does not apply with --entity (the entity is the org)")
		case f.scopes != "":
			return fail("--scopes does not apply with --entity")
		case !levelSet:
			return fail("--level is required with --entity")
		case f.level < 0 || f.level > maxLevel:
			return fail("--level must be between 0 and %d", maxLevel)
		}
		return nbf, nil
	}
	// A platform token's level is the user's membership, read at request
	// time: refuse rather than mint a token that silently lacks it.
	if levelSet {
		return fail("--level applies with --entity; a platform token's level is the user's org membership (tessera org …, PUT /orgs/{id}/members/{user})")
	}
	return nbf, nil
}

// mintShared signs the nano-messaging form: HS256 with secret, claims
// userUUID, entityUUID, levelOnEntity (a number), iat, exp and nbf.
func mintShared(secret string, f mintFlags, nbf, now time.Time) (string, error) {
	if secret == "" {
		return "", errors.New("token mint: --entity needs messaging.jwt_secret (--messaging-jwt-secret or TESSERA_MESSAGING_JWT_SECRET)")
	}
	tok, err := authz.SignShared(secret, authz.SharedClaims{UserUUID: f.user, EntityUUID: f.entity, Level: f.level,
		IssuedAt: now, Expires: now.Add(f.ttl), NotBefore: nbf})
	if err != nil {
		return "", fmt.Errorf("token mint: %w", err)
	}
	return tok, nil
}
