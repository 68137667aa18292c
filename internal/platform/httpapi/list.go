package httpapi

// List is the body of every list response, as the contract's list
// convention has it: {"items": [...], "next_cursor": "..."}, next_cursor
// absent on the last page.
type List[T any] struct {
	Items      []T    `json:"items" nullable:"false"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor to get the next page; absent on the last page."`
}

// ListOutput is a list operation's output.
type ListOutput[T any] struct {
	Body List[T]
}

// Page builds a list output; nil items become [].
func Page[T any](items []T, next string) *ListOutput[T] {
	if items == nil {
		items = []T{}
	}
	return &ListOutput[T]{Body: List[T]{Items: items, NextCursor: next}}
}
