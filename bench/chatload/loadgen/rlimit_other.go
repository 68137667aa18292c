//go:build !linux

package loadgen

// raiseFileLimit is Linux-only; elsewhere the limit is left as it is.
func raiseFileLimit(int) error { return nil }
