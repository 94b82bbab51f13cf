package json

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"testing"

	"github.com/erpipe/erpipe/formats"
)

// FuzzReader reads any bytes as a top-level array or JSON Lines and as
// records under "items": it must never panic, every error must say where
// (a line from 1), and a valid top-level array of objects must give one
// record per object with the values encoding/json decodes.
func FuzzReader(f *testing.F) {
	f.Add([]byte(invoices))
	f.Add([]byte(`[{"a": 1, "b": "x"}, {"a": [1, {"c": null}]}]`))
	f.Add([]byte("{\"a\": 1}\n{\"a\": 2}\n"))
	f.Add([]byte(`{"items": [{"a": "\u00e9"}], "x": {"y": [1,2,3]}}`))
	f.Add([]byte(`[{"a": 1e400}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, record := range []string{"", "items"} {
			got, _, err := readAll(t, string(data), Options{Record: record, Fields: []string{"a", "b.c", "a[0]"}, Limits: formats.Limits{Depth: 64}})
			if err != nil {
				var se *SyntaxError
				var pe *formats.ParseError
				var le *formats.LimitError
				switch {
				case errors.As(err, &se):
					if se.Pos.Row < 1 || se.Pos.Col < 0 {
						t.Fatalf("error without a place: %v", err)
					}
				case errors.As(err, &pe), errors.As(err, &le):
				default:
					t.Fatalf("error %v (%T)", err, err)
				}
				continue
			}
			if record != "" {
				continue
			}
			var objs []map[string]any
			dec := stdjson.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if dec.Decode(&objs) != nil || dec.More() {
				continue // not one array of objects
			}
			if len(got) != len(objs) {
				t.Fatalf("%d records, encoding/json finds %d objects", len(got), len(objs))
			}
			for i, o := range objs {
				want, _ := text(o["a"])
				if got[i][0] != want {
					t.Fatalf("record %d: a = %q, encoding/json says %q", i+1, got[i][0], want)
				}
			}
		}
	})
}
