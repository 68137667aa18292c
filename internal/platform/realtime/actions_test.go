package realtime

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tessera-dev/tessera/internal/platform/fault"
)

// FuzzDecodeData: any bytes decode into a typed action input or fail with a
// client fault (400/422), never a panic or an internal error.
func FuzzDecodeData(f *testing.F) {
	for _, seed := range []string{`{"from":"2026-01-01T00:00:00Z","ids":["a"],"n":3}`, `null`, ``, `{"x":1}`, `{"n":"3"}`, `[]`, `{"ids":[1]}`, `{} {}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var in struct {
			From time.Time `json:"from"`
			IDs  []string  `json:"ids"`
			N    int       `json:"n"`
		}
		err := DecodeData(json.RawMessage(b), &in)
		if err != nil && fault.CodeOf(err) != fault.Malformed && fault.CodeOf(err) != fault.Invalid {
			t.Fatalf("DecodeData(%q): %v is not a client fault", b, err)
		}
	})
}

func TestRequestIDOf(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]string{
		`{"action":"x","request_id":"r1","extra":1}`: "r1",
		`{"request_id":5}`:                           "",
		`not json`:                                   "",
	} {
		if got := requestIDOf([]byte(msg)); got != want {
			t.Errorf("requestIDOf(%s) = %q, want %q", msg, got, want)
		}
	}
}
