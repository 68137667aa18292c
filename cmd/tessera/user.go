package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/identity"
	"github.com/tessera-dev/tessera/internal/platform/node"
)

func (c *cli) userCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Create, list and disable users of the platform's user pool",
		Args:  cobra.NoArgs,
		RunE:  groupHelp,
	}
	cmd.AddCommand(c.userCreateCommand(), c.userListCommand(), c.userDisableCommand())
	return cmd
}

func (c *cli) userCreateCommand() *cobra.Command {
	var password, name string
	var confirmed, asJSON bool
	cmd := &cobra.Command{
		Use:     "create EMAIL --password PASSWORD",
		Short:   "Create a user (confirmed with --confirmed, else a code is mailed)",
		Example: `  tessera user create ada@example.com --password 'correct horse battery staple' --confirmed --json`,
		Args:    exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withIdentity(cmd, func(ctx context.Context, _ *config.Config, id *node.Identity) error {
				u, err := id.Users.CreateUser(ctx, args[0], password, name, confirmed)
				if err != nil {
					return err
				}
				if asJSON {
					return c.printJSON(u)
				}
				_, err = fmt.Fprintf(c.stdout, "user %s created: %s\n", u.ID, u.Email)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&password, "password", "", "the password (at least 12 characters, not a common one)")
	cmd.Flags().StringVar(&name, "name", "", "the user's name")
	cmd.Flags().BoolVar(&confirmed, "confirmed", false, "create the user confirmed (no code is mailed)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the user as one JSON object")
	return cmd
}

// userList is user list --json's object.
type userList struct {
	Items      []identity.User `json:"items"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

func (c *cli) userListCommand() *cobra.Command {
	var f identity.UserFilter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users, optionally matching part of the email",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withIdentity(cmd, func(ctx context.Context, _ *config.Config, id *node.Identity) error {
				users, next, err := id.Users.ListUsers(ctx, f)
				if err != nil {
					return err
				}
				if asJSON {
					if users == nil {
						users = []identity.User{}
					}
					return c.printJSON(userList{Items: users, NextCursor: next})
				}
				for _, u := range users {
					state := "active"
					switch {
					case u.Disabled:
						state = "disabled"
					case !u.Confirmed:
						state = "unconfirmed"
					}
					if _, err := fmt.Fprintf(c.stdout, "%s\t%s\t%s\t%s\n", u.ID, u.Email, state, u.Name); err != nil {
						return err
					}
				}
				if next != "" {
					fmt.Fprintf(c.stderr, "more: --cursor %s\n", next)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&f.Query, "q", "", "part of the email to match")
	cmd.Flags().IntVar(&f.Limit, "limit", 50, "page size (1–500)")
	cmd.Flags().StringVar(&f.Cursor, "cursor", "", "the next page's cursor")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"items","next_cursor"}`)
	return cmd
}

func (c *cli) userDisableCommand() *cobra.Command {
	var enable bool
	cmd := &cobra.Command{
		Use:   "disable USER_ID",
		Short: "Disable a user (signs them out everywhere); --enable undoes it",
		Args:  exactArgs(1, "USER_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withIdentity(cmd, func(ctx context.Context, _ *config.Config, id *node.Identity) error {
				u, err := id.Users.SetDisabled(ctx, args[0], !enable)
				if err != nil {
					return err
				}
				state := "disabled"
				if !u.Disabled {
					state = "enabled"
				}
				_, err = fmt.Fprintf(c.stdout, "user %s %s\n", u.ID, state)
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&enable, "enable", false, "enable the user again")
	return cmd
}
