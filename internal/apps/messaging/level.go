package messaging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// maxLevel is the highest level (levelOnEntity, level_admin, a rule's level).
const maxLevel = 1_000_000

// Level is a level in a request body: an integer 0–1,000,000 given as a JSON
// number or a numeric string (the seed's examples send strings).
type Level int

// UnmarshalJSON reads a number or a numeric string.
func (l *Level) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 || n > maxLevel {
		return fmt.Errorf("a level is an integer from 0 to %d", maxLevel)
	}
	*l = Level(n)
	return nil
}

// Schema documents (and makes Huma validate) both forms.
func (Level) Schema(huma.Registry) *huma.Schema {
	lo, hi := 0.0, float64(maxLevel)
	return &huma.Schema{
		Description: "An integer from 0 to 1000000, as a number or a numeric string.",
		OneOf: []*huma.Schema{
			{Type: huma.TypeInteger, Minimum: &lo, Maximum: &hi},
			{Type: huma.TypeString, Pattern: `^(1000000|[0-9]{1,6})$`},
		},
	}
}
