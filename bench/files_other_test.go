//go:build !linux

package bench

// Elsewhere than Linux the files benchmarks neither sync between steps nor
// check the disk (nor, without /proc, measure the node's memory).

func filesSync() {}

func filesFreeBytes(string) (int64, bool) { return 0, false }

func filesSameFS(string, string) (same, known bool) { return false, false }
