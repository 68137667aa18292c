// Package backup writes and restores a backup of a SQLite-mode Tessera: one
// archive holding the database, every blob and the data directory's keys,
// taken while the node serves writes.
//
// The archive is a tar file (gzip-compressed, at gzip's fastest level, when
// its name ends in ".gz" or ".tgz") of, in this order:
//
//	database.db     the database, as one SQLite file
//	keys/<name>     the files of <data_dir>/keys (node-local secrets)
//	blobs/<key>     every object of the blob store, its bytes only
//	manifest.json   Manifest: format, version, time, schema versions, and
//	                the size and SHA-256 of every entry above
//
// It is written under a temporary name beside FILE and renamed to FILE once
// complete and synced, mode 0600: it holds every secret of the installation.
//
// Consistency: Create takes a blob snapshot (blob.NewSnapshot: on the
// filesystem, a hard link per object), then pauses the database's writers
// (it holds SQLite's write lock), opens a read transaction, which pins the
// database as it is at that instant, brings the blob snapshot up to date
// (Snapshot.Update) and lets the writers go on. The archive then holds the
// pinned database and the snapshot's objects. Apps put an object before
// they commit a row naming it, delete it only after they committed the
// row's removal, and never put new bytes under a key a committed row
// names, so every object a row of the pinned database names is in the
// snapshot, with the bytes the row knew. Objects put or
// deleted while the backup runs may be in the archive too (no row of the
// archive's database names them). Writes pause for the time the Update
// takes: two lstat calls per object. On S3 there is no snapshot: the
// objects are read from the live bucket, and one deleted meanwhile is
// missing (Summary.BlobsVanished counts them).
//
// Restore checks the whole archive before it writes anything (every entry's
// size and SHA-256 against the manifest, the database's integrity), then
// puts the blobs, the keys, and the database last.
package backup

import (
	"time"
)

// Format is the archive format version Create writes and Restore reads.
const Format = 1

// Names of the archive's entries.
const (
	entryDatabase = "database.db"
	entryManifest = "manifest.json"
	prefixKeys    = "keys/"
	prefixBlobs   = "blobs/"
)

// Manifest describes an archive; it is the archive's last entry.
type Manifest struct {
	Format    int       `json:"format"`
	Version   string    `json:"tessera_version"`
	CreatedAt time.Time `json:"created_at"` // the instant the database was pinned
	Engine    string    `json:"engine"`     // "sqlite"
	// Schemas maps each schema (platform, every app) to its latest applied
	// migration version.
	Schemas  map[string]int64 `json:"schemas"`
	Database File             `json:"database"`
	Keys     []File           `json:"keys"`
	Blobs    []Blob           `json:"blobs"`
	// BlobsFrozen reports whether the blobs are those of the instant the
	// database was pinned (a filesystem blob store); false on S3.
	BlobsFrozen bool `json:"blobs_frozen"`
	// BlobsVanished counts the S3 objects deleted between their listing and
	// their reading, hence not in the archive.
	BlobsVanished int `json:"blobs_vanished"`
}

// File is a file entry of the archive: database.db or keys/<name>.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Blob is a blob entry of the archive, blobs/<key>.
type Blob struct {
	Key         string `json:"key"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
}

// Summary is what Create and Restore report (the --json object).
type Summary struct {
	File          string           `json:"file"`
	Bytes         int64            `json:"bytes"` // the archive's size
	Gzip          bool             `json:"gzip"`
	Version       string           `json:"tessera_version"` // of the binary that wrote the archive
	CreatedAt     time.Time        `json:"created_at"`
	DatabaseBytes int64            `json:"database_bytes"`
	Blobs         int              `json:"blobs"`
	BlobBytes     int64            `json:"blob_bytes"`
	BlobsFrozen   bool             `json:"blobs_frozen"`
	BlobsVanished int              `json:"blobs_vanished"`
	Keys          int              `json:"keys"`
	Schemas       map[string]int64 `json:"schemas"`
	// WritesPausedMS is how long Create held the database's writers
	// (backup only).
	WritesPausedMS float64 `json:"writes_paused_ms,omitempty"`
	DurationMS     int64   `json:"duration_ms"`
}

func summarize(m *Manifest, file string, bytes int64, gzip bool, start time.Time) Summary {
	s := Summary{
		File: file, Bytes: bytes, Gzip: gzip, Version: m.Version, CreatedAt: m.CreatedAt,
		DatabaseBytes: m.Database.Size, Blobs: len(m.Blobs), BlobsFrozen: m.BlobsFrozen,
		BlobsVanished: m.BlobsVanished, Keys: len(m.Keys), Schemas: m.Schemas,
		DurationMS: time.Since(start).Milliseconds(),
	}
	for _, b := range m.Blobs {
		s.BlobBytes += b.Size
	}
	return s
}
