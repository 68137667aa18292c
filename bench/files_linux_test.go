package bench

import "syscall"

// filesSync writes back every dirty page of the machine (sync(2)), so that
// a timed step does not pay for the previous one's writeback.
func filesSync() { syscall.Sync() }

// filesFreeBytes is the space free for an unprivileged user on dir's
// filesystem.
func filesFreeBytes(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * st.Bsize, true // #nosec G115 -- a block count of a real filesystem
}

// filesSameFS reports whether a and b are on the same filesystem (device).
func filesSameFS(a, b string) (same, known bool) {
	var sa, sb syscall.Stat_t
	if syscall.Stat(a, &sa) != nil || syscall.Stat(b, &sb) != nil {
		return false, false
	}
	return sa.Dev == sb.Dev, true
}
