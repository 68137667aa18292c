package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/node"
	"github.com/tessera-dev/tessera/internal/platform/orgs"
)

func (c *cli) orgCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "org",
		Short: "Create and list organizations",
		Args:  cobra.NoArgs,
		RunE:  groupHelp,
	}
	cmd.AddCommand(c.orgCreateCommand(), c.orgListCommand())
	return cmd
}

func (c *cli) orgCreateCommand() *cobra.Command {
	var externalID, owner string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create NAME --owner USER_ID",
		Short: "Create an organization owned by a user",
		Long: `Create an organization. --owner names its first owner (a user id; every org
has at least one owner). --external-id is the id the org has at an external
token issuer, so that tokens naming it resolve to this org.`,
		Example: `  tessera org create "Acme" --owner 0190c4c2-… --external-id org_acme --json`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if owner == "" {
				return errors.New("org create: --owner USER_ID is required (the org's first owner)")
			}
			return c.withIdentity(cmd, func(ctx context.Context, cfg *config.Config, id *node.Identity) error {
				o, err := id.Orgs.CreateOrg(ctx, args[0], externalID, owner)
				if err != nil {
					return err
				}
				if asJSON {
					return c.printJSON(o)
				}
				_, err = fmt.Fprintf(c.stdout, "org %s created: %q\n", o.ID, o.Name)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&externalID, "external-id", "", "the org's id at an external issuer (unique)")
	cmd.Flags().StringVar(&owner, "owner", "", "user id of the org's first owner (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the org as one JSON object")
	return cmd
}

// orgList is org list --json's object, the shape of GET /orgs.
type orgList struct {
	Items      []orgs.Org `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

func (c *cli) orgListCommand() *cobra.Command {
	var limit int
	var cursor string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every organization, oldest first",
		Long: `List every organization, oldest first: one line per org (id, name, external
id; tab-separated), or with --json one object {"items": [...], "next_cursor"}.
A page holds --limit orgs (at most 500); when there are more, pass
--cursor the next cursor (printed on stderr without --json).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > orgs.MaxPageSize {
				return fmt.Errorf("org list: --limit must be between 1 and %d", orgs.MaxPageSize)
			}
			return c.withIdentity(cmd, func(ctx context.Context, cfg *config.Config, id *node.Identity) error {
				items, next, err := id.Orgs.ListOrgs(ctx, "", limit, cursor)
				if err != nil {
					return err
				}
				if asJSON {
					return c.printJSON(orgList{Items: items, NextCursor: next})
				}
				for _, o := range items {
					if _, err := fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", o.ID, o.Name, o.ExternalID); err != nil {
						return err
					}
				}
				if next != "" {
					_, err = fmt.Fprintf(c.stderr, "more: tessera org list --cursor %s\n", next)
				}
				return err
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", orgs.DefaultPageSize, "page size (1–500)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "the next cursor of the previous page")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// exactArgs is cobra.ExactArgs with a message naming the argument.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s: want %s, got %d arguments", strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "), names, len(args))
		}
		return nil
	}
}
