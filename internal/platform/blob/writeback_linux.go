package blob

import (
	"os"
	"syscall"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE: start writing back the
// range's dirty pages, do not wait.
const syncFileRangeWrite = 0x2

// startWriteback asks the kernel to start writing f's bytes [off, off+n)
// to the disk now, without waiting and without flushing the disk's cache
// (the fsync that follows does, and waits). A put calls it as it writes, so
// the disk works while the rest of the object is read and hashed, and the
// final fsync has little left to do. It is a hint: errors are ignored (the
// fsync reports real ones).
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SyncFileRange(int(fd), off, n, syncFileRangeWrite) // #nosec G115 -- a file descriptor
	})
}
