package blob

import "syscall"

func syncAll() { syscall.Sync() }
