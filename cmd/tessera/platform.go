package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/fault"
	"github.com/tessera-dev/tessera/internal/platform/node"
)

// withIdentity loads the configuration, opens the configured store and migrates
// it (so that a fresh data directory works), runs f and closes the store.
// The platform's own errors come back as one readable line (see plain).
func (c *cli) withIdentity(cmd *cobra.Command, f func(ctx context.Context, cfg *config.Config, id *node.Identity) error) (err error) {
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return &config.Error{Key: "data_dir", Msg: err.Error()}
	}
	ctx := cmd.Context()
	// Quiet: these commands print their result, not the migrations' progress.
	log := slog.New(slog.NewJSONHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := node.OpenStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	if err := node.Migrate(ctx, st, c.registry, log); err != nil {
		return err
	}
	id, err := node.OpenIdentity(cfg, st, c.registry.Clients())
	if err != nil {
		return err
	}
	return plain(f(ctx, cfg, id))
}

// plain turns a fault into its client-safe message and its bad fields
// ("validation failed: name: must not be empty"), without the code prefix;
// other errors are returned as they are.
func plain(err error) error {
	f := fault.As(err)
	if f == nil {
		return err
	}
	msg := f.Message
	for i, fe := range f.Fields {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		loc := fe.Location
		if _, rest, ok := strings.Cut(loc, "."); ok {
			loc = rest // body.name → name
		}
		if loc != "" {
			msg += sep + loc + ": " + fe.Message
		} else {
			msg += sep + fe.Message
		}
	}
	return errors.New(msg)
}

// printJSON writes v as one JSON object and a newline.
func (c *cli) printJSON(v any) error {
	return json.NewEncoder(c.stdout).Encode(v)
}

// groupHelp is the RunE of a command that only groups subcommands: alone it
// prints its help; with an unknown subcommand, cobra.NoArgs fails with
// "unknown command" (exit 1) instead of printing the help.
func groupHelp(cmd *cobra.Command, _ []string) error { return cmd.Help() }
