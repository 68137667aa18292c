package loadgen

import (
	"fmt"
	"syscall"
)

// raiseFileLimit lifts the open-files soft limit to what n sockets need.
func raiseFileLimit(n int) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	need := uint64(max(n, 0)) + 256
	if l.Cur >= need {
		return nil
	}
	l.Cur = max(need, l.Cur)
	if l.Max < l.Cur {
		l.Cur = l.Max // only root may raise the hard limit
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("raise the open-files limit to %d: %w", need, err)
	}
	if l.Cur < need {
		return fmt.Errorf("the open-files limit is %d, under the %d that %d connections need", l.Cur, need, n)
	}
	return nil
}
