package node

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// localKey returns the 32-byte secret stored in <data_dir>/keys/<name>.key,
// creating it (mode 0600) on first use. It keys what only this node checks,
// such as the filesystem blob store's signed URLs.
func localKey(dataDir, name string) ([]byte, error) {
	dir := filepath.Join(dataDir, "keys")
	path := filepath.Join(dir, name+".key")
	key, err := os.ReadFile(path) //nolint:gosec // G304: a fixed name under the operator's data directory
	switch {
	case err == nil && len(key) == 32:
		return key, nil
	case err == nil:
		return nil, fmt.Errorf("key file %s: want 32 bytes, found %d", path, len(key))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	// Written whole to a temp file, then linked into place: a reader never
	// sees a partial key, and if another process won the race, its key is used.
	tmp, err := os.CreateTemp(dir, name+".key.tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // gone already once linked; nothing to do if not
	if _, err := tmp.Write(key); err != nil {
		return nil, errors.Join(fmt.Errorf("write key: %w", err), tmp.Close())
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return nil, fmt.Errorf("write key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("install key: %w", err)
	}
	return localKey(dataDir, name)
}
