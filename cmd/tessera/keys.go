package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/node"
)

func (c *cli) keysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the platform's token signing keys",
		Args:  cobra.NoArgs,
		RunE:  groupHelp,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key current now (old keys stay published until their tokens expire)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withIdentity(cmd, func(ctx context.Context, _ *config.Config, id *node.Identity) error {
				if err := id.Keys.Rotate(ctx); err != nil {
					return err
				}
				_, err := fmt.Fprintln(c.stdout, "signing key rotated; every node picks it up within a minute")
				return err
			})
		},
	})
	return cmd
}
