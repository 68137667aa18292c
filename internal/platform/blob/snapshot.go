package blob

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// snapshotsDir holds the filesystem backend's snapshots, beside objects/
// and tmp/ in the store's directory.
const snapshotsDir = "snapshots"

// AbandonedSnapshotAge is the age past which NewSnapshot removes a snapshot
// left behind by a process that died before releasing it.
const AbandonedSnapshotAge = 24 * time.Hour

// Snapshot is a read-only view of a store's objects, for a backup. Only its
// reading methods (List, Get, Stat) may be used. Close releases it.
type Snapshot struct {
	Store
	// Frozen reports whether the view is fixed: on the filesystem, objects
	// put, replaced, moved or deleted after NewSnapshot (or the last
	// Update) returned leave it unchanged. On S3 the view is the live
	// bucket (Frozen false): an object deleted afterwards is missing from
	// it.
	Frozen bool
	live   *fsStore // the filesystem store; nil on S3
	dir    string   // the filesystem snapshot's directory
}

// NewSnapshot takes a snapshot of s. On the filesystem it hard-links every
// object file into DIR/snapshots/<id>/objects: same inodes, no byte copied,
// and since a put publishes a new file by rename and a delete unlinks one,
// a linked file never changes. It costs one link per object; it first
// removes the snapshots older than AbandonedSnapshotAge. On S3 it returns
// the store itself.
func NewSnapshot(ctx context.Context, s Store) (*Snapshot, error) {
	fsys, ok := s.(*fsStore)
	if !ok {
		return &Snapshot{Store: s}, nil
	}
	parent := filepath.Join(fsys.root, snapshotsDir)
	if err := removeAbandoned(parent, time.Now().Add(-AbandonedSnapshotAge)); err != nil {
		return nil, err
	}
	dir := filepath.Join(parent, time.Now().UTC().Format("20060102T150405Z")+"-"+rand.Text()[:8])
	view := &fsStore{root: dir, objects: filepath.Join(dir, "objects"), tmp: filepath.Join(dir, "tmp")}
	if err := os.MkdirAll(view.objects, 0o750); err != nil {
		return nil, fmt.Errorf("blob: snapshot: %w", err)
	}
	snap := &Snapshot{Store: view, Frozen: true, live: fsys, dir: dir}
	if err := snap.Update(ctx); err != nil {
		return nil, errors.Join(err, snap.Close())
	}
	return snap, nil
}

// Update brings a filesystem snapshot up to the store's objects of now: it
// links the objects put since and relinks the keys given new bytes. An
// object deleted since stays in the snapshot; one moved while Update runs
// may be missed at both keys (a second Update finds it at its new key). It
// costs two lstat calls per object already linked, so it is much quicker
// than NewSnapshot: a backup takes the snapshot first, and Updates it
// while the database's writers are paused. On S3 it does nothing.
func (s *Snapshot) Update(ctx context.Context) error {
	if s.live == nil {
		return nil
	}
	dst := s.Store.(*fsStore).objects
	err := filepath.WalkDir(s.live.objects, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(s.live.objects, p)
		if err != nil {
			return err
		}
		return relink(p, d, filepath.Join(dst, rel))
	})
	if err != nil {
		return fmt.Errorf("blob: snapshot: %w", err)
	}
	return nil
}

// Close removes the snapshot (on the filesystem, its links: the objects
// deleted meanwhile are freed now).
func (s *Snapshot) Close() error {
	if s.dir == "" {
		return nil
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("blob: remove snapshot: %w", err)
	}
	return nil
}

// relink makes dst a link of src (entry d), unless it is one already: a
// missing dst is linked (its directory created), another file at dst is
// replaced. A src gone meanwhile is not an error.
func relink(src string, d fs.DirEntry, dst string) error {
	if have, err := os.Lstat(dst); err == nil {
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) || (err == nil && os.SameFile(fi, have)) {
			return nil
		}
		if err := os.Remove(dst); err != nil {
			return err
		}
	}
	err := os.Link(src, dst)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Lstat(src); errors.Is(serr, fs.ErrNotExist) {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return err
		}
		err = os.Link(src, dst)
	}
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// removeAbandoned removes the snapshots under parent made before cutoff.
func removeAbandoned(parent string, cutoff time.Time) error {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blob: snapshots: %w", err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(parent, e.Name())); err != nil {
			return fmt.Errorf("blob: remove abandoned snapshot: %w", err)
		}
	}
	return nil
}
