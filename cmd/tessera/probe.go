package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// probeTimeout bounds a probe: a container healthcheck wants an answer soon.
const probeTimeout = 5 * time.Second

// probeCommand asks the running node on this machine whether it is up
// (GET /healthz) or ready (GET /readyz): exit 0 on 200, else one line and
// exit 1. It is the container image's HEALTHCHECK (the image has no shell
// and no HTTP client).
func (c *cli) probeCommand() *cobra.Command {
	var ready bool
	var url string
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Check that the node on this machine is up (or, with --ready, ready): exit 0 or 1",
		Long: `Probe GETs /healthz (the process serves) or, with --ready, /readyz (its
database, Redis and blob store answer) of the node listening on the
configured addr (a wildcard addr is reached on loopback), or of --url.
Exit 0 on 200; otherwise one line on stderr and exit 1. Use it as a
container HEALTHCHECK.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base := url
			if base == "" {
				cfg, err := c.loadConfig(cmd)
				if err != nil {
					return err
				}
				base = cfg.LocalURL()
			}
			path := "/healthz"
			if ready {
				path = "/readyz"
			}
			return probe(cmd.Context(), base+path)
		},
	}
	cmd.Flags().BoolVar(&ready, "ready", false, "ask /readyz (dependencies reachable) instead of /healthz")
	cmd.Flags().StringVar(&url, "url", "", "the node's base URL (default: the configured addr on this machine)")
	return cmd
}

// probe GETs url and succeeds on 200 only.
func probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("probe %s: no answer within %s", url, probeTimeout)
		}
		return fmt.Errorf("probe %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: %s", url, res.Status)
	}
	return nil
}
