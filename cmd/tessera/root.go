package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tessera-dev/tessera/internal/platform/app"
	"github.com/tessera-dev/tessera/internal/platform/config"
)

// cli holds what every command shares: the parsed global flags, the
// environment, the registry of apps and the output streams.
type cli struct {
	environ    []string
	configFile string
	registry   *app.Registry
	stdout     io.Writer
	stderr     io.Writer
}

// run executes the command line args and returns the exit code. Errors are
// printed as one line on stderr.
func run(args, environ []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, environ, os.Stdout, os.Stderr)
}

func runContext(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	registry, err := apps()
	if err != nil {
		fmt.Fprintf(stderr, "tessera: %v\n", err)
		return 1
	}
	c := &cli{environ: environ, registry: registry, stdout: stdout, stderr: stderr}
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "tessera: %s\n", oneLine(err))
		return 1
	}
	return 0
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "tessera",
		Short: "Five back ends on one shared platform, in one binary",
		Long: `Tessera runs the messaging, restaurants, scheduling, files and records apps
on one platform (identity, authorizer, events, jobs, realtime, blobs, mail).

Configuration: flags > TESSERA_* environment > --config YAML file > defaults.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&c.configFile, "config", "", "YAML configuration file")
	config.BindFlags(root.PersistentFlags())
	root.AddCommand(c.serveCommand(), c.migrateCommand(), c.configCommand(), c.versionCommand(),
		c.userCommand(), c.orgCommand(), c.keysCommand(), c.adminKeyCommand(), c.tokenCommand(), c.recordsCommand(),
		c.backupCommand(), c.restoreCommand(), c.devCommand(), c.probeCommand())
	return root
}

// loadConfig loads the effective configuration for cmd.
func (c *cli) loadConfig(cmd *cobra.Command) (*config.Config, error) {
	return config.Load(config.Sources{
		Flags:     cmd.Flags(),
		Environ:   c.environ,
		File:      c.configFile,
		KnownApps: c.registry.Names(),
	})
}

// logger is the JSON logger of commands that log (serve, migrate): stderr.
func (c *cli) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(c.stderr, nil))
}

// redisLogOnce guards the Redis client's logger, a process-wide setting
// (tests run several servers in one process).
var redisLogOnce sync.Once

// redisLog routes the Redis client's own messages (reconnects while Redis is
// down) into the JSON log instead of plain lines on stderr.
type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.log.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	var ce *config.Error
	if errors.As(err, &ce) {
		return ce.Error()
	}
	msg := err.Error()
	for i, r := range msg {
		if r == '\n' {
			return msg[:i]
		}
	}
	return msg
}
