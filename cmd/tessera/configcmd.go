package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func (c *cli) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show or check the effective configuration",
	}
	var asJSON bool
	print := &cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration, secrets masked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			masked := cfg.Masked()
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(masked)
			}
			// Through JSON so the YAML keys are the documented ones.
			raw, err := json.Marshal(masked)
			if err != nil {
				return err
			}
			var tree map[string]any
			if err := json.Unmarshal(raw, &tree); err != nil {
				return err
			}
			out, err := yaml.Marshal(tree)
			if err != nil {
				return err
			}
			_, err = c.stdout.Write(out)
			return err
		},
	}
	print.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration; exit 1 with one line naming the bad key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := c.loadConfig(cmd); err != nil {
				return err
			}
			_, err := fmt.Fprintln(c.stdout, "configuration ok")
			return err
		},
	}
	cmd.AddCommand(print, validate)
	return cmd
}
