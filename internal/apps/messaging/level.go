package messaging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// maxLevel is the highest level (levelOnEntity, level_admin, a rule's level).
const maxLevel = 1_000_000

// Level is a level in a request body: an integer 0–1,000,000 given as a JSON
// number or a numeric string (the seed's examples send strings).
type Level int

// UnmarshalJSON reads a number or a numeric string. A JSON number is a
// level when its value is an integer, whatever its form (100, 1e2, 100.0),
// as the schema's integer type admits it.
func (l *Level) UnmarshalJSON(b []byte) error {
	bad := fmt.Errorf("a level is an integer from 0 to %d", maxLevel)
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil // encoding/json's convention: null leaves the value as it is
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > maxLevel {
			return bad
		}
		*l = Level(n)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil || f != math.Trunc(f) || f < 0 || f > maxLevel {
		return bad
	}
	*l = Level(f)
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
