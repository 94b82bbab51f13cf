package expression

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// field builds an input field as the loader would.
func field(t *testing.T, typ string, opts ...func(*InputField)) *InputField {
	t.Helper()
	f := &InputField{Name: "f", Column: "F", Type: typ, DecSep: "."}
	for _, o := range opts {
		o(f)
	}
	if (typ == TypeDate || typ == TypeDatetime) && f.Layouts == nil {
		defaults := DefaultDateLayouts
		if typ == TypeDatetime {
			defaults = DefaultDatetimeLayouts
		}
		for _, s := range defaults {
			l, err := ParseDateLayout(s)
			if err != nil {
				t.Fatal(err)
			}
			f.Layouts = append(f.Layouts, l)
		}
	}
	if typ == TypeBoolean {
		f.TrueList, f.FalseList = DefaultTrueValues, DefaultFalseValues
		f.TrueSet, f.FalseSet = map[string]bool{}, map[string]bool{}
		for _, s := range DefaultTrueValues {
			f.TrueSet[s] = true
		}
		for _, s := range DefaultFalseValues {
			f.FalseSet[s] = true
		}
	}
	f.SetHint()
	return f
}

func layouts(ls ...string) func(*InputField) {
	return func(f *InputField) {
		for _, s := range ls {
			l, err := ParseDateLayout(s)
			if err != nil {
				panic(err)
			}
			f.Layouts = append(f.Layouts, l)
		}
	}
}

func seps(dec, thou string) func(*InputField) {
	return func(f *InputField) { f.DecSep, f.ThouSep, f.DecSepSet = dec, thou, true }
}

func required(f *InputField) { f.Required = true }

func withDefault(s string) func(*InputField) { return func(f *InputField) { f.Default = &s } }

func TestParseField(t *testing.T) {
	tests := []struct {
		name  string
		f     *InputField
		in    string
		excel bool
		want  string // display form; "" when an error is expected
		err   string // part of the error
		hint  string // part of the hint
	}{
		// string
		{"string kept as is", field(t, TypeString), "  Acme  ", false, `"  Acme  "`, "", ""},
		{"string blank", field(t, TypeString), "   ", false, "blank", "", ""},
		{"string required", field(t, TypeString, required), " ", false, "", "a value is required", ""},
		{"string default", field(t, TypeString, withDefault("N/A")), "", false, `"N/A"`, "", ""},
		{"required with default", field(t, TypeString, required, withDefault("X")), "", false, `"X"`, "", ""},
		// integer
		{"integer", field(t, TypeInteger), "42", false, "42", "", ""},
		{"integer negative", field(t, TypeInteger), "-42", false, "-42", "", ""},
		{"integer trailing minus", field(t, TypeInteger), "42-", false, "-42", "", ""},
		{"integer spaces", field(t, TypeInteger), " 42 ", false, "42", "", ""},
		{"integer thousands", field(t, TypeInteger, seps(".", " ")), "1 000 000", false, "1000000", "", ""},
		{"integer .0", field(t, TypeInteger), "12.0", false, "12", "", ""},
		{"integer fraction", field(t, TypeInteger), "12.5", false, "", `"12.5" is not a whole number`, "write a whole number"},
		{"integer text", field(t, TypeInteger), "abc", false, "", `"abc" is not a whole number`, "e.g. 42"},
		{"integer too large", field(t, TypeInteger), "99999999999999999999", false, "", "too large", "type: decimal"},
		{"integer excel", field(t, TypeInteger), "1E3", true, "1000", "", ""},
		// decimal
		{"decimal", field(t, TypeDecimal), "1250.50", false, "1250.50", "", ""},
		{"decimal keeps digits", field(t, TypeDecimal), "0.10", false, "0.10", "", ""},
		{"decimal integer", field(t, TypeDecimal), "1250", false, "1250", "", ""},
		{"decimal leading point", field(t, TypeDecimal), ".5", false, "0.5", "", ""},
		{"decimal plus", field(t, TypeDecimal), "+3.5", false, "3.5", "", ""},
		{"decimal minus", field(t, TypeDecimal), "-3.5", false, "-3.5", "", ""},
		{"decimal trailing minus", field(t, TypeDecimal), "3.5-", false, "-3.5", "", ""},
		{"decimal parentheses", field(t, TypeDecimal), "(3.50)", false, "-3.50", "", ""},
		{"decimal comma", field(t, TypeDecimal, seps(",", "")), "12,5", false, "12.5", "", ""},
		{"decimal comma thousands dot", field(t, TypeDecimal, seps(",", ".")), "1.234.567,89", false, "1234567.89", "", ""},
		{"decimal space thousands", field(t, TypeDecimal, seps(",", " ")), "1 234,50", false, "1234.50", "", ""},
		{"decimal nbsp thousands", field(t, TypeDecimal, seps(",", " ")), "1\u00a0234,50", false, "1234.50", "", ""},
		{"decimal comma thousands", field(t, TypeDecimal, seps(".", ",")), "1,234.50", false, "1234.50", "", ""},
		{"decimal long", field(t, TypeDecimal), "123456789012345678901234.123456789", false, "123456789012345678901234.123456789", "", ""},
		{"decimal comma by mistake", field(t, TypeDecimal, seps(".", "")), "12,5", false, "", `"12,5" is not a decimal number`, `this looks like a decimal comma; set decimal_separator: ","`},
		{"decimal comma read", field(t, TypeDecimal), "12,5", false, "12.5", "", ""},
		{"decimal comma or thousands", field(t, TypeDecimal), "1,250", false, "", `"1,250" is not a decimal number`, `this could be 1250 ("," separating thousands) or 1.250 (a decimal comma): set thousands_separator: "," in the template if it is the one, decimal_separator: "," if it is the other`},
		{"decimal point or thousands", field(t, TypeDecimal, seps(",", "")), "-2.500", false, "", `is not a decimal number`, `this could be 2500 ("." separating thousands) or 2,500 (a decimal point)`},
		{"decimal point by mistake", field(t, TypeDecimal, seps(",", "")), "12.5", false, "", `"12.5" is not a decimal number`, `this looks like a decimal point`},
		{"decimal junk", field(t, TypeDecimal), "12,5x", false, "", `"12,5x" is not a decimal number`, `write the amount with a "." decimal separator, e.g. 1250.50`},
		{"decimal two points", field(t, TypeDecimal), "1.2.3", false, "", "is not a decimal number", ""},
		{"decimal spaces", field(t, TypeDecimal), "1 234.50", false, "", "is not a decimal number", `set thousands_separator: " "`},
		{"decimal sign only", field(t, TypeDecimal), "-", false, "", "is not a decimal number", ""},
		{"decimal exponent text", field(t, TypeDecimal), "1e5", false, "", "is not a decimal number", ""},
		{"decimal currency", field(t, TypeDecimal), "€12", false, "", "is not a decimal number", ""},
		{"decimal excel raw", field(t, TypeDecimal, seps(",", ".")), "1234.5", true, "1234.5", "", ""},
		{"decimal excel float noise", field(t, TypeDecimal), "0.30000000000000004", true, "0.3", "", ""},
		{"decimal excel noise 2", field(t, TypeDecimal), "1234.5599999999999", true, "1234.56", "", ""},
		{"decimal excel exponent", field(t, TypeDecimal), "1.5E-3", true, "0.0015", "", ""},
		{"decimal excel text cell", field(t, TypeDecimal, seps(",", "")), "12,5", true, "12.5", "", ""},
		// date
		{"date default", field(t, TypeDate), "2026-01-31", false, "2026-01-31", "", ""},
		{"date layout", field(t, TypeDate, layouts("dd.MM.yyyy")), "31.01.2026", false, "2026-01-31", "", ""},
		{"date no leading zeros", field(t, TypeDate, layouts("dd.MM.yyyy")), "1.2.2026", false, "2026-02-01", "", ""},
		{"date slash", field(t, TypeDate, layouts("dd/MM/yyyy")), "31/01/2026", false, "2026-01-31", "", ""},
		{"date compact", field(t, TypeDate, layouts("yyyyMMdd")), "20260131", false, "2026-01-31", "", ""},
		{"date two layouts", field(t, TypeDate, layouts("dd.MM.yyyy", "yyyy-MM-dd")), "2026-01-31", false, "2026-01-31", "", ""},
		{"date month name", field(t, TypeDate, layouts("dd MMM yyyy")), "31 Jan 2026", false, "2026-01-31", "", ""},
		{"date bad", field(t, TypeDate, layouts("dd.MM.yyyy")), "2026-01-31", false, "", `"2026-01-31" is not a date in the layout dd.MM.yyyy`, "write the date as dd.MM.yyyy, e.g. 31.01.2026"},
		{"date impossible", field(t, TypeDate, layouts("dd.MM.yyyy")), "31.02.2026", false, "", "but there is no such date", ""},
		{"date excel serial", field(t, TypeDate), "46053", true, "2026-01-31", "", ""},
		{"date excel serial with time", field(t, TypeDate), "46053.75", true, "2026-01-31", "", ""},
		{"date excel text", field(t, TypeDate, layouts("dd.MM.yyyy")), "31.01.2026", true, "2026-01-31", "", ""},
		{"date serial in csv", field(t, TypeDate), "46053", false, "", "is not a date", ""},
		// datetime
		{"datetime default", field(t, TypeDatetime), "2026-01-31 14:30:00", false, "2026-01-31 14:30:00", "", ""},
		{"datetime T", field(t, TypeDatetime), "2026-01-31T14:30:00", false, "2026-01-31 14:30:00", "", ""},
		{"datetime minutes", field(t, TypeDatetime), "2026-01-31 14:30", false, "2026-01-31 14:30:00", "", ""},
		{"datetime date only", field(t, TypeDatetime), "2026-01-31", false, "2026-01-31", "", ""},
		{"datetime layout", field(t, TypeDatetime, layouts("dd/MM/yyyy HH:mm")), "31/01/2026 14:30", false, "2026-01-31 14:30:00", "", ""},
		{"datetime fraction", field(t, TypeDatetime, layouts("yyyy-MM-dd HH:mm:ss.fff")), "2026-01-31 14:30:00.250", false, "2026-01-31 14:30:00", "", ""},
		{"datetime 12h", field(t, TypeDatetime, layouts("MM/dd/yyyy hh:mm tt")), "01/31/2026 02:30 PM", false, "2026-01-31 14:30:00", "", ""},
		{"datetime excel", field(t, TypeDatetime), "46053.6041666667", true, "2026-01-31 14:30:00", "", ""},
		{"datetime bad", field(t, TypeDatetime, layouts("dd/MM/yyyy HH:mm")), "31/01/2026", false, "", "is not a date and time in the layout dd/MM/yyyy HH:mm", "e.g. 31/01/2026 14:30"},
		// boolean
		{"boolean true", field(t, TypeBoolean), "TRUE", false, "true", "", ""},
		{"boolean yes", field(t, TypeBoolean), "Yes", false, "true", "", ""},
		{"boolean ja", field(t, TypeBoolean), "ja", false, "true", "", ""},
		{"boolean 0", field(t, TypeBoolean), "0", false, "false", "", ""},
		{"boolean nei", field(t, TypeBoolean), " NEI ", false, "false", "", ""},
		{"boolean blank", field(t, TypeBoolean), "", false, "blank", "", ""},
		{"boolean bad", field(t, TypeBoolean), "maybe", false, "", `"maybe" is not a yes/no value`, `write "true", "yes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.Parse(tt.in, tt.excel)
			if tt.want != "" {
				if err != nil {
					t.Fatalf("parse(%q): %v", tt.in, err)
				}
				if d := Show(got); d != tt.want {
					t.Errorf("parse(%q) = %s, want %s", tt.in, d, tt.want)
				}
				if tm, ok := got.(time.Time); ok && tm.Location() != time.UTC {
					t.Errorf("parse(%q): location %v, want UTC", tt.in, tm.Location())
				}
				return
			}
			if err == nil {
				t.Fatalf("parse(%q) = %s, want an error", tt.in, Show(got))
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parse(%q): error %q, want %q", tt.in, err, tt.err)
			}
			hint := ""
			var ve *ValueError
			if errors.As(err, &ve) {
				hint = ve.Hint
			}
			if !strings.Contains(hint, tt.hint) {
				t.Errorf("parse(%q): hint %q, want %q", tt.in, hint, tt.hint)
			}
		})
	}
}

func TestDateLayouts(t *testing.T) {
	tm := time.Date(2026, 3, 5, 14, 7, 9, 123456789, time.UTC)
	tests := []struct {
		layout, format, err string
	}{
		{layout: "dd.MM.yyyy", format: "05.03.2026"},
		{layout: "d.M.yy", format: "5.3.26"},
		{layout: "yyyy-MM-ddTHH:mm:ss", format: "2026-03-05T14:07:09"},
		{layout: "yyyyMMdd", format: "20260305"},
		{layout: "dddd d MMMM yyyy", format: "Thursday 5 March 2026"},
		{layout: "ddd, dd MMM yyyy", format: "Thu, 05 Mar 2026"},
		{layout: "h:mm tt", format: "2:07 PM"},
		{layout: "H:m:s", format: "14:7:9"},
		{layout: "HH:mm:ss.fff", format: "14:07:09.123"},
		{layout: "HH:mm:ss,ffffff", format: "14:07:09,123456"},
		{layout: "'week' dd", format: "week 05"},
		{layout: `yyyy\Q`, format: "2026Q"},
		{layout: "DD.MM.YYYY", err: `"D" is not a date or time letter`},
		{layout: "yyyyMd", err: `yyyy and M stand side by side`},
		{layout: "yyyyMMdd", format: "20260305"},
		{layout: "ZyyZMd", err: `M and d stand side by side`},
		{layout: "fff", err: "must follow the seconds"},
		{layout: "dd.MM.2026", err: "holds the digit"},
		{layout: "'day", err: "is not closed"},
		{layout: "", err: "empty"},
	}
	for _, tt := range tests {
		l, err := ParseDateLayout(tt.layout)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseDateLayout(%q): error %v, want %q", tt.layout, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseDateLayout(%q): %v", tt.layout, err)
			continue
		}
		if got := l.Format(tm); got != tt.format {
			t.Errorf("%q.Format = %q, want %q", tt.layout, got, tt.format)
		}
		back, err := l.Parse(l.Format(tm))
		if err != nil {
			t.Errorf("%q: parse of its own format %q: %v", tt.layout, l.Format(tm), err)
		} else if l.Format(back) != tt.format {
			t.Errorf("%q: round trip gave %q", tt.layout, l.Format(back))
		}
	}
}

func TestExcelSerial(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"1", "1900-01-01 00:00:00"},
		{"59", "1900-02-28 00:00:00"},
		{"61", "1900-03-01 00:00:00"},
		{"45123", "2023-07-16 00:00:00"},
		{"45123.5", "2023-07-16 12:00:00"},
		{"46053.999988426", "2026-01-31 23:59:59"},
		{"60", ""},
		{"0", ""},
		{"-1", ""},
		{"abc", ""},
		{"3000000", ""},
	}
	for _, tt := range tests {
		got, ok := excelSerialTime(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("excelSerialTime(%q) = %v, want not ok", tt.in, got)
			}
			continue
		}
		if !ok || got.Format("2006-01-02 15:04:05") != tt.want {
			t.Errorf("excelSerialTime(%q) = %v, %v; want %s", tt.in, got, ok, tt.want)
		}
	}
}

func TestNumberFormat(t *testing.T) {
	tests := []struct {
		n, format, dec, group, want string
	}{
		{"1234.5", "0.00", ".", ",", "1234.50"},
		{"1234.5", "#,##0.00", ".", ",", "1,234.50"},
		{"1234567.891", "#,##0.00", ",", ".", "1.234.567,89"},
		{"0.5", "#.##", ".", ",", ".5"},
		{"0.5", "0.##", ".", ",", "0.5"},
		{"2", "0.##", ".", ",", "2"},
		{"2.5", "0", ".", ",", "3"},
		{"-2.5", "0", ".", ",", "-3"},
		{"-0.001", "0.00", ".", ",", "0.00"},
		{"7", "000", ".", ",", "007"},
		{"999.995", "#,##0.00", ".", ",", "1,000.00"},
		{"123", "#,##0", ".", " ", "123"},
		{"1234567", "#,##0", ".", " ", "1 234 567"},
	}
	for _, tt := range tests {
		nf, err := parseNumberFormat(tt.format)
		if err != nil {
			t.Errorf("parseNumberFormat(%q): %v", tt.format, err)
			continue
		}
		if got := nf.format(dec(tt.n), tt.dec, tt.group); got != tt.want {
			t.Errorf("format(%s, %q) = %q, want %q", tt.n, tt.format, got, tt.want)
		}
	}
	for _, bad := range []string{"", "abc", "0.0#0", "0.00%"} {
		if _, err := parseNumberFormat(bad); err == nil {
			t.Errorf("parseNumberFormat(%q) accepted", bad)
		}
	}
}

// quickLayouts are layouts Parse reads by hand (quickParse).
var quickLayouts = []string{"dd/MM/yyyy", "d.M.yyyy", "yyyy-MM-dd", "MM/dd/yyyy", "yyyyMMdd", "dd-MM-'yr'yyyy"}

// checkQuickParse checks that Parse gives what time.Parse gives for s.
func checkQuickParse(t *testing.T, l *DateLayout, s string) {
	t.Helper()
	got, err := l.Parse(s)
	want, wantErr := time.ParseInLocation(l.parse, s, time.UTC)
	if (err == nil) != (wantErr == nil) || !got.Equal(want) || got.Location() != want.Location() {
		t.Errorf("layout %s, %q: got %v, %v; time.Parse gives %v, %v", l.src, s, got, err, want, wantErr)
	}
}

func TestQuickDateParse(t *testing.T) {
	for _, src := range quickLayouts {
		l, err := ParseDateLayout(src)
		if err != nil {
			t.Fatal(err)
		}
		if l.quick == nil {
			t.Fatalf("layout %s is not read by hand", src)
		}
		for _, s := range []string{
			"15/05/2024", "5/5/2024", "29/02/2024", "29/02/2023", "29/02/1900", "29/02/2000", "31/04/2024", "30/04/2024",
			"00/01/2024", "01/13/2024", "01/00/2024", "1/1/0000", "15/05/24", "15/05/20245", "15-05-2024", "15/05/2024 ",
			" 15/05/2024", "15//2024", "/05/2024", "123/05/2024", "15/05/2x24", "15.5.2024", "2024-05-15", "2024-5-15",
			"05/15/2024", "20240515", "2024515", "15-05-yr2024", "", "31.12.9999", "31/12/+024",
		} {
			checkQuickParse(t, l, s)
		}
	}
	for _, src := range []string{"dd/MM/yy", "dd MM yyyy", "MMM d, yyyy", "yyyy-MM-ddTHH:mm", "dd/MM"} {
		if l, err := ParseDateLayout(src); err != nil || l.quick != nil {
			t.Errorf("layout %s: read by hand %v (%v)", src, l != nil && l.quick != nil, err)
		}
	}
}

func FuzzQuickDateParse(f *testing.F) {
	f.Add(uint8(0), "15/05/2024")
	f.Add(uint8(1), "5.13.2024")
	f.Add(uint8(2), "2024-02-30")
	f.Fuzz(func(t *testing.T, layout uint8, s string) {
		l, err := ParseDateLayout(quickLayouts[int(layout)%len(quickLayouts)])
		if err != nil {
			t.Fatal(err)
		}
		checkQuickParse(t, l, s)
	})
}

// TestMessagesThatMislead: a date-shaped value with no such day says so,
// not "write the date as"; letters in an amount are not "spaces to
// remove"; Excel's CONCATENATE suggests CONCAT.
func TestMessagesThatMislead(t *testing.T) {
	dl, err := ParseDateLayout("dd.MM.yyyy")
	if err != nil {
		t.Fatal(err)
	}
	date := &InputField{Name: "due", Type: TypeDate, Layouts: []*DateLayout{dl}}
	date.SetHint()
	_, err = date.Parse("31.02.2026", false)
	var ve *ValueError
	if !errors.As(err, &ve) || !strings.Contains(ve.Msg, "no such date") || strings.Contains(ve.Hint, "write the date as") {
		t.Errorf("31.02.2026: %v (hint %q)", err, ve.Hint)
	}
	amount := &InputField{Name: "amount", Type: TypeDecimal, DecSep: "."}
	amount.SetHint()
	_, err = amount.Parse("twelve fifty", false)
	if !errors.As(err, &ve) || strings.Contains(ve.Msg+ve.Hint, "remove the spaces") || !strings.Contains(ve.Msg+ve.Hint, "digits") {
		t.Errorf("twelve fifty: %v (hint %q)", err, ve.Hint)
	}
	if got := DidYouMean("CONCATENATE", []string{"CONCAT", "CASE", "COUNT"}); got != ` (did you mean "CONCAT"?)` {
		t.Errorf("CONCATENATE: %q", got)
	}
}

// TestAdjacentLayoutNumbers: numbers side by side in a layout read back
// what the layout writes (yyddMMss wrote 26310100 and could not read it:
// Go read the month and seconds as the hour).
func TestAdjacentLayoutNumbers(t *testing.T) {
	for _, c := range []struct{ layout, text string }{
		{"yyddMMss", "26310100"}, {"yyyyMMdd", "20260131"}, {"yyyyMMddHHmmss", "20260131143005"}, {"HHmmss.fff", "143005.123"},
	} {
		l, err := ParseDateLayout(c.layout)
		if err != nil {
			t.Fatal(err)
		}
		tm, err := l.Parse(c.text)
		if err != nil || l.Format(tm) != c.text {
			t.Errorf("%s: %q read as %v (%v), written back as %q", c.layout, c.text, tm, err, l.Format(tm))
		}
	}
}

// TestLayoutsGoReadsOtherwise: a layout whose text Go's layouts read as a
// field of their own is refused when the template loads.
func TestLayoutsGoReadsOtherwise(t *testing.T) {
	for _, layout := range []string{"yyZM_d", "yyyy_dd.MM", "dd.MM.yyyy 'Mon'"} {
		if _, err := ParseDateLayout(layout); err == nil {
			t.Errorf("%s was taken", layout)
		}
	}
	if _, err := ParseDateLayout("yyyy_MM_dd"); err == nil {
		t.Error("an underscore before the day was taken")
	}
	if _, err := ParseDateLayout("dd_MM_yyyy"); err != nil {
		t.Errorf("underscores elsewhere: %v", err)
	}
}

// TestDecimalEitherSeparator: a field whose template does not set its
// decimal separator reads the other one too, where it can't be mistaken.
func TestDecimalEitherSeparator(t *testing.T) {
	lenient := &InputField{Name: "amount", Type: TypeDecimal, DecSep: "."}
	strict := &InputField{Name: "amount", Type: TypeDecimal, DecSep: ".", DecSepSet: true}
	comma := &InputField{Name: "amount", Type: TypeDecimal, DecSep: ","}
	tests := []struct {
		f    *InputField
		in   string
		want string // "" for an error
	}{
		{lenient, "12.50", "12.50"},
		{lenient, "12.50", "12.50"},
		{lenient, "-1250,5", "-1250.5"},
		{lenient, "0,125", "0.125"},
		{lenient, "1.250,50", "1250.50"},
		{lenient, "12.345.678,9", "12345678.9"},
		{lenient, "1,250", ""},    // a thousand, or one and a quarter
		{lenient, "1.25,50", ""},  // not groups of three
		{lenient, "1,250,50", ""}, // two commas
		{lenient, "12,5x", ""},
		{strict, "12,50", ""},
		{comma, "12.50", "12.50"},
		{comma, "1,250.50", "1250.50"},
		{comma, "1.250", ""},
	}
	for _, tt := range tests {
		v, err := tt.f.Parse(tt.in, false)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%q (set %v, sep %q) = %v, want an error", tt.in, tt.f.DecSepSet, tt.f.DecSep, v)
		case tt.want != "" && err != nil:
			t.Errorf("%q (set %v, sep %q): %v", tt.in, tt.f.DecSepSet, tt.f.DecSep, err)
		case tt.want != "" && Text(v) != tt.want:
			t.Errorf("%q = %s, want %s", tt.in, Text(v), tt.want)
		}
	}
}
