package fault

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestCodeSurvivesWrapping(t *testing.T) {
	t.Parallel()
	base := New(NotFound, "room %d not found", 7)
	wrapped := fmt.Errorf("list rooms: %w", base)
	if CodeOf(wrapped) != NotFound || !Is(wrapped, NotFound) || Is(wrapped, Conflict) {
		t.Fatalf("code lost through wrapping: %v", CodeOf(wrapped))
	}
	if f := As(wrapped); f == nil || f.Message != "room 7 not found" {
		t.Fatalf("As: %+v", f)
	}
	if CodeOf(io.EOF) != Internal || As(io.EOF) != nil || Is(nil, Internal) {
		t.Fatal("a plain error must read as internal, nil as nothing")
	}
}

func TestCauseIsLoggedNotShown(t *testing.T) {
	t.Parallel()
	cause := errors.New("pq: password authentication failed for user tessera")
	f := Wrap(cause, Unavailable, "database unavailable")
	if !errors.Is(f, cause) || !strings.Contains(f.Error(), "password authentication") {
		t.Fatalf("cause must be in the chain and in Error() for logs: %v", f)
	}
	if strings.Contains(f.Message, "password") {
		t.Fatal("the client-safe message must not carry the cause")
	}
	v := WithFields("invalid room", FieldError{Location: "body.name", Message: "too long"})
	if v.Code != Invalid || len(v.Fields) != 1 {
		t.Fatalf("WithFields: %+v", v)
	}
}
