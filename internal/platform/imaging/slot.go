package imaging

import "context"

// slot admits one decode at a time in the process (owned by Acquire): a
// crafted image within the limits can need close to 1 GiB, so apps queue
// their image work here rather than each keeping its own slot.
var slot = make(chan struct{}, 1)

// Acquire waits for the process's image slot, or for ctx to end; the
// caller runs Decode and friends, then calls release.
func Acquire(ctx context.Context) (release func(), err error) {
	select {
	case slot <- struct{}{}:
		return func() { <-slot }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
