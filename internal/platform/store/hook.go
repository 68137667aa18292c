package store

import "context"

// commitHookKey marks a context carrying a commit hook.
type commitHookKey struct{}

// WithCommitHook returns ctx carrying hook: every transaction function run
// under ctx or a context derived from it (InTx, InTxIsolated, a
// GroupCommit's Do) runs hook(tx) once it has returned nil, inside the same
// transaction (in a group commit, inside its savepoint). So what hook
// writes commits with the function's work, or not at all; an error from
// hook fails the function like its own error would. The idempotency keys
// use it to mark, in the business transaction itself, that a request's
// work committed. A context carries at most one hook: the innermost wins.
func WithCommitHook(ctx context.Context, hook func(tx *Tx) error) context.Context {
	return context.WithValue(ctx, commitHookKey{}, hook)
}

// withCommitHook returns fn followed by ctx's commit hook, or fn alone when
// ctx carries none.
func withCommitHook(ctx context.Context, fn func(tx *Tx) error) func(tx *Tx) error {
	hook, ok := ctx.Value(commitHookKey{}).(func(tx *Tx) error)
	if !ok {
		return fn
	}
	return func(tx *Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return hook(tx)
	}
}
