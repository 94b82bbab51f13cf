package layout

import (
	"fmt"
	"testing"
	"time"

	"github.com/erpipe/erpipe/transform/expression"
	"github.com/shopspring/decimal"
)

// TestSpoolValueRoundTrip checks that every kind of value comes back from
// the spool encoding as it went in.
func TestSpoolValueRoundTrip(t *testing.T) {
	for _, v := range []any{nil, "", "x\x00y", int64(-42), decimal.RequireFromString("1250.50"), decimal.RequireFromString("-0.001"),
		time.Date(2026, 1, 31, 14, 30, 5, 123, time.UTC), true, false} {
		got, err := decodeValue(EncodeValue(v))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%#v", expression.Text(got)) != fmt.Sprintf("%#v", expression.Text(v)) || expression.KindName(got) != expression.KindName(v) {
			t.Errorf("%#v came back as %#v", v, got)
		}
	}
}
