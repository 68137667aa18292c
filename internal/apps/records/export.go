package records

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/internal/apps/records/schema"
)

// exportWriter writes an export's records one by one.
type exportWriter interface {
	write(rec Record) error
	close() error
}

// jsonExport is {"record_id", "exported_at", "records": [...]}, records
// in tree order (the record, its children, their children...).
type jsonExport struct {
	w     *bufio.Writer
	first bool
	err   error // the header's
}

func newJSONExport(w io.Writer, rootID string, at time.Time) *jsonExport {
	e := &jsonExport{w: bufio.NewWriter(w), first: true}
	_, e.err = fmt.Fprintf(e.w, `{"record_id":%q,"exported_at":%q,"records":[`, rootID, at.Format(time.RFC3339Nano))
	return e
}

func (e *jsonExport) write(rec Record) error {
	if e.err != nil {
		return e.err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("records: export: %w", err)
	}
	if !e.first {
		if err := e.w.WriteByte(','); err != nil {
			return err
		}
	}
	e.first = false
	_, err = e.w.Write(b)
	return err
}

func (e *jsonExport) close() error {
	if e.err != nil {
		return e.err
	}
	if _, err := e.w.WriteString("]}\n"); err != nil {
		return err
	}
	return e.w.Flush()
}

// csvExport is one row per record: id, type, parent_id, created_at,
// updated_at, version, then one column per field of the exported types
// (named <type>.<field>; a record fills its own type's columns).
type csvExport struct {
	w      *csv.Writer
	cols   []string       // the field columns, "<type>.<field>"
	index  map[string]int // column → position in a row
	kinds  map[string]schema.Kind
	header bool
}

const csvBase = 6 // id, type, parent_id, created_at, updated_at, version

func newCSVExport(w io.Writer, types []*schema.Type) *csvExport {
	e := &csvExport{w: csv.NewWriter(w), index: map[string]int{}, kinds: map[string]schema.Kind{}}
	for _, t := range types {
		for _, p := range t.Params {
			col := t.Name + "." + p.Name
			e.index[col] = csvBase + len(e.cols)
			e.kinds[col] = p.Kind
			e.cols = append(e.cols, col)
		}
	}
	return e
}

func (e *csvExport) write(rec Record) error {
	if !e.header {
		e.header = true
		if err := e.w.Write(append([]string{"id", "type", "parent_id", "created_at", "updated_at", "version"}, e.cols...)); err != nil {
			return err
		}
	}
	row := make([]string, csvBase+len(e.cols))
	row[0], row[1] = rec.ID, rec.Type
	if rec.ParentID != nil {
		row[2] = *rec.ParentID
	}
	row[3], row[4], row[5] = rec.CreatedAt.Format(time.RFC3339Nano), rec.UpdatedAt.Format(time.RFC3339Nano), strconv.FormatInt(rec.Version, 10)
	fields, err := fieldMap(rec.Fields)
	if err != nil {
		return err
	}
	for _, name := range sortedKeys(fields) {
		col := rec.Type + "." + name
		i, ok := e.index[col]
		if !ok {
			continue // a field the config no longer has
		}
		row[i] = csvCell(e.kinds[col], fields[name])
	}
	return e.w.Write(row)
}

func (e *csvExport) close() error {
	e.w.Flush()
	return e.w.Error()
}

// csvCell is a field's value as a CSV cell: strings as they are (a
// leading =, +, -, @, tab or CR quoted with ' so that a spreadsheet does
// not run it as a formula), other values as JSON.
func csvCell(kind schema.Kind, raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return string(raw)
	}
	if kind != schema.KindNumber && kind != schema.KindInteger && s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
