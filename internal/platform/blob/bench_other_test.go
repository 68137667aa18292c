//go:build !linux

package blob

func syncAll() {}
