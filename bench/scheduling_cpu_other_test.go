//go:build !unix

package bench

import "time"

// processCPU is unknown here: the CPU figures report 0.
func processCPU() time.Duration { return 0 }
