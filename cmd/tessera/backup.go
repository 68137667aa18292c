package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-dev/tessera/internal/platform/backup"
)

// backupCommand writes an online backup of the database and the blobs.
func (c *cli) backupCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write an online backup (SQLite mode): database, blobs and keys in one archive",
		Long: `Write a backup of the SQLite database, every blob and the data directory's
keys to FILE, a tar archive (gzip-compressed when FILE ends in .gz or .tgz),
while the node keeps serving. The archive holds every secret of the
installation: it is written with mode 0600; keep it as you keep the keys.
It appears at FILE only once complete. Progress goes to stderr.

In Postgres mode it writes nothing and prints the pg_dump command to use
instead (docs/operations.md, "Backup and restore"); the exit code is 1.`,
		Example: `  tessera backup /var/backups/tessera-$(date +%F).tar.gz
  tessera backup backup.tar --json`,
		Args: exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			sum, err := backup.Create(cmd.Context(), cfg, args[0], backup.Options{Version: buildVersion(), Progress: c.stderr})
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			if asJSON {
				return c.printJSON(sum)
			}
			_, err = fmt.Fprintf(c.stdout, "backup written to %s: %d bytes (database %d bytes, %d blobs of %d bytes, %d keys) in %s\n",
				sum.File, sum.Bytes, sum.DatabaseBytes, sum.Blobs, sum.BlobBytes, sum.Keys, time.Duration(sum.DurationMS)*time.Millisecond)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	return cmd
}

// restoreCommand restores a backup into a fresh data directory.
func (c *cli) restoreCommand() *cobra.Command {
	var asJSON, force bool
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore a backup written by tessera backup (SQLite mode)",
		Long: `Restore the archive FILE into the configured installation: the database at
--database (by default <data_dir>/tessera.db), the blobs into --blobs, the keys
into <data_dir>/keys. Stop every node first.

The whole archive is checked before anything is written (every entry against
the manifest's size and SHA-256, the database's integrity); a damaged or cut
archive changes nothing. An existing database is refused unless --force, and
one that a running process has open is refused even with --force.`,
		Example: `  tessera restore /var/backups/tessera-2026-11-02.tar.gz --data-dir /var/lib/tessera`,
		Args:    exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			sum, err := backup.Restore(cmd.Context(), cfg, args[0], backup.Options{Progress: c.stderr, Force: force})
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			if asJSON {
				return c.printJSON(sum)
			}
			_, err = fmt.Fprintf(c.stdout, "restored %s (taken %s by tessera %s): database %d bytes, %d blobs of %d bytes, %d keys, in %s\n",
				sum.File, sum.CreatedAt.Format(time.RFC3339), sum.Version, sum.DatabaseBytes, sum.Blobs, sum.BlobBytes, sum.Keys,
				time.Duration(sum.DurationMS)*time.Millisecond)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing database (never one in use)")
	return cmd
}
