package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-dev/tessera/internal/platform/authz"
	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/node"
)

func (c *cli) adminKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin-key",
		Short: "Create, list and revoke admin API keys",
		Long: `Admin API keys reach /admin over HTTP Basic auth (user KEY_ID, password the
secret). The secret is printed once, by create; only its hash is stored.`,
		Args: cobra.NoArgs,
		RunE: groupHelp,
	}
	cmd.AddCommand(c.adminKeyCreateCommand(), c.adminKeyListCommand(), c.adminKeyRevokeCommand())
	return cmd
}

// adminKeyCreated is admin-key create --json's object.
type adminKeyCreated struct {
	KeyID  string `json:"key_id"`
	Secret string `json:"secret"`
}

func (c *cli) adminKeyCreateCommand() *cobra.Command {
	var name string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an admin API key and print its secret (shown this once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withIdentity(cmd, func(ctx context.Context, _ *config.Config, id *node.Identity) error {
				key, secret, err := id.AdminKeys.Create(ctx, name)
				if err != nil {
					return err
				}
				if asJSON {
					return c.printJSON(adminKeyCreated{KeyID: key.ID, Secret: secret})
				}
				_, err = fmt.Fprintf(c.stdout, "admin key %s secret %s (shown once: Basic auth as %s:<secret>)\n",
					key.ID, secret, key.ID)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "a name to recognize the key by (at most 200 characters)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"key_id", "secret"}`)
	return cmd
}

// adminKeyList is admin-key list --json's object.
type adminKeyList struct {
	Items []authz.AdminKey `json:"items"`
}

func (c *cli) adminKeyListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List admin API keys, revoked ones included (never their secrets)",
		Long: `List admin API keys, oldest first, revoked ones included: one line per key
(key id, created, "live" or "revoked <time>", name; tab-separated), or with
--json one object {"items": [{"key_id", "name", "created_at", "revoked_at"}]}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withIdentity(cmd, func(ctx context.Context, _ *config.Config, id *node.Identity) error {
				keys, err := id.AdminKeys.List(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return c.printJSON(adminKeyList{Items: keys})
				}
				for _, k := range keys {
					state := "live"
					if k.RevokedAt != nil {
						state = "revoked " + k.RevokedAt.Format(time.RFC3339)
					}
					if _, err := fmt.Fprintf(c.stdout, "%s\t%s\t%s\t%s\n",
						k.ID, k.CreatedAt.Format(time.RFC3339), state, k.Name); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func (c *cli) adminKeyRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke an admin API key (it stops working at once on this node, within seconds on others)",
		Args:  exactArgs(1, "KEY_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withIdentity(cmd, func(ctx context.Context, _ *config.Config, id *node.Identity) error {
				if err := id.AdminKeys.Revoke(ctx, args[0]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(c.stdout, "admin key %s revoked\n", args[0])
				return err
			})
		},
	}
}
