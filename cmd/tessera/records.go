package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
)

func (c *cli) recordsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "records",
		Short: "The records app's config.json",
	}
	validate := &cobra.Command{
		Use:   "validate-config FILE",
		Short: "Check a records config.json: print every problem with its JSON path, exit 1 if any",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			sc, err := schema.Parse(data)
			var problems schema.Problems
			if errors.As(err, &problems) {
				for _, p := range problems {
					fmt.Fprintln(c.stdout, p.String())
				}
				return fmt.Errorf("%s: %d problem(s)", args[0], len(problems))
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "%s: ok, %d types\n", args[0], len(sc.Names()))
			return err
		},
	}
	show := &cobra.Command{
		Use:   "default-config",
		Short: "Print the embedded default config.json (the contract hierarchy)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := c.stdout.Write(schema.DefaultJSON())
			return err
		},
	}
	cmd.AddCommand(validate, show)
	return cmd
}
