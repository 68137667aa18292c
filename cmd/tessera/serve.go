package main

import (
	"errors"
	"net"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/tessera-dev/tessera/internal/platform/config"
	"github.com/tessera-dev/tessera/internal/platform/node"
)

func (c *cli) serveCommand() *cobra.Command {
	var noMigrate bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (every enabled app) until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			// Listen first: a taken port fails before any migration runs.
			ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Addr)
			if err != nil {
				return &config.Error{Key: "addr", Msg: err.Error()}
			}
			log := c.logger()
			redisLogOnce.Do(func() { redis.SetLogger(redisLog{log}) })
			for _, w := range cfg.Warnings() {
				log.Warn(w)
			}
			n, err := node.Open(ctx, cfg, c.registry, log, node.Options{NoMigrate: noMigrate, Version: buildVersion()})
			if err != nil {
				return errors.Join(err, ln.Close())
			}
			defer func() { err = errors.Join(err, n.Close()) }()
			return n.Serve(ctx, ln)
		},
	}
	cmd.Flags().BoolVar(&noMigrate, "no-migrate", false, "do not apply migrations at start")
	return cmd
}

func (c *cli) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the platform's and every app's schema migrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			st, err := node.OpenStore(cmd.Context(), cfg, c.logger())
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, st.Close()) }()
			if err := node.Migrate(cmd.Context(), st, c.registry, c.logger()); err != nil {
				return err
			}
			_, err = c.stdout.Write([]byte("migrations applied\n"))
			return err
		},
	}
}
