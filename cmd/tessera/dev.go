package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tessera-dev/tessera/internal/cluster"
	"github.com/tessera-dev/tessera/internal/platform/config"
)

// defaultClusterPostgres is the database of `dev cluster` unless --postgres.
const defaultClusterPostgres = "postgres://postgres@127.0.0.1:5432/tessera_cluster?sslmode=disable"

// devCommand groups the commands for development on one machine.
func (c *cli) devCommand() *cobra.Command {
	dev := &cobra.Command{Use: "dev", Short: "Development helpers (a local cluster)", Args: cobra.NoArgs}
	dev.AddCommand(c.devClusterCommand())
	return dev
}

func (c *cli) devClusterCommand() *cobra.Command {
	var opts cluster.Options
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run Postgres, Redis, S3 (versitygw), N nodes and a round-robin proxy on this machine",
		Long: `Runs a Tessera cluster on this machine until Ctrl-C: Postgres and Redis
(used when they answer, else started), versitygw as the S3 store, --nodes
node processes (this binary's serve) on free 127.0.0.1 ports, and a
round-robin proxy on --addr in front of them, which is every node's
public_url. Ctrl-C stops the nodes gracefully, then the proxy and whatever
it started.

The nodes get the configuration of this command (flags, TESSERA_*
environment, --config file) except the settings the cluster makes: addr,
data_dir (<dir>/node-<i>), database, redis, blobs and its keys, public_url.
Under --dir: node-<i>/ (data), s3/ (buckets), logs/ (one file per process)
and mail/ (every node's mail sink).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// This command's --addr and --redis shadow the configuration
			// flags of the same names: only the inherited ones are config.
			cfg, err := config.Load(config.Sources{Flags: cmd.InheritedFlags(), Environ: c.environ, File: c.configFile, KnownApps: c.registry.Names()})
			if err != nil {
				return err
			}
			if opts.Dir == "" {
				opts.Dir = filepath.Join(cfg.DataDir, "cluster")
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the tessera binary: %w", err)
			}
			args := []string{"serve"}
			if c.configFile != "" {
				args = append(args, "--config", c.configFile)
			}
			opts.Environ = append(slices.Clone(c.environ), flagSettings(cmd.InheritedFlags())...)
			opts.Node = func(env []string) *exec.Cmd {
				node := exec.CommandContext(context.Background(), exe, args...) //nolint:gosec // G204: this binary
				node.Env = env
				return node
			}
			ctx := cmd.Context()
			cl, err := cluster.Start(ctx, opts)
			if err != nil {
				if ctx.Err() != nil && errors.Is(err, ctx.Err()) { // Ctrl-C while starting
					fmt.Fprintln(c.stdout, "stopped")
					return nil
				}
				return err
			}
			c.printCluster(cl)
			<-ctx.Done()
			fmt.Fprintln(c.stdout, "stopping")
			if err := cl.Stop(); err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, "stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Nodes, "nodes", 2, "number of node processes")
	f.StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "the proxy's listen address (port 0: any free port)")
	f.StringVar(&opts.Dir, "dir", "", "the cluster's directory (default <data_dir>/cluster)")
	f.StringVar(&opts.Postgres, "postgres", defaultClusterPostgres, "Postgres database of the nodes (created if missing; the local default server is started if down)")
	f.StringVar(&opts.Redis, "redis", "redis://127.0.0.1:6379/0", "Redis of the nodes (a local one is started if down)")
	return cmd
}

// flagSettings returns the configuration flags set on the command line as
// TESSERA_* variables, for the nodes.
func flagSettings(fs *pflag.FlagSet) []string {
	var env []string
	for _, key := range config.Keys() {
		if f := fs.Lookup(key.Flag()); f != nil && f.Changed {
			env = append(env, key.Env()+"="+f.Value.String())
		}
	}
	return env
}

// printCluster tells where everything runs.
func (c *cli) printCluster(cl *cluster.Cluster) {
	state := func(name string) string {
		if slices.Contains(cl.Started, name) {
			return "started; stopped at the end"
		}
		return "running already; left running"
	}
	fmt.Fprintf(c.stdout, "postgres  %s (%s)\n", redacted(cl.Postgres), state("postgres"))
	fmt.Fprintf(c.stdout, "redis     %s (%s)\n", redacted(cl.Redis), state("redis-server"))
	if slices.Contains(cl.Started, "versitygw") {
		fmt.Fprintf(c.stdout, "s3        %s (versitygw over %s, keys %s / %s)\n", cl.S3.URL, filepath.Join(cl.Dir, "s3"), cl.S3.AccessKey, cl.S3.SecretKey)
	}
	for i, n := range cl.Nodes {
		fmt.Fprintf(c.stdout, "node %-4d %s (data %s)\n", i+1, n.URL, n.Dir)
	}
	fmt.Fprintf(c.stdout, "proxy     %s (round robin over the nodes)\n", cl.URL)
	fmt.Fprintf(c.stdout, "logs      %s\n", cl.LogDir())
	fmt.Fprintf(c.stdout, "mail      %s\n", cl.MailDir())
	fmt.Fprintln(c.stdout, "Ctrl-C stops them all.")
}

// redacted is raw with any password masked.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}
