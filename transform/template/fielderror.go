package template

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/erpipe/erpipe/formats"
)

// FieldError is a data error that finance users can act on: where the value
// is (file, sheet, row, column), which template field it feeds, what is
// wrong, and what to do about it.
type FieldError struct {
	Pos      formats.Pos // Col set when the error is about one cell
	Column   string      // header of the input column, if any
	Template string      // template name
	Field    string      // template field (input field, model field or output column)
	Value    string      // the offending text, if any
	Rule     string      // validation name, for validation failures
	Severity string      // "error" or "warning"
	Err      error       // what is wrong
	Hint     string      // what to fix, in plain words
}

// Severities of a FieldError.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Error renders the error on one line, for example
//
//	customers.csv: row 4 column 7 ("Credit limit"): field credit_limit: "12,5x" is not a decimal number. Fix: write the amount with a "." decimal separator, e.g. 1250.50
//
// A validation names its rule instead of the field, and a warning says so:
//
//	customers.csv: row 9: rule email-present (warning): The customer has no email address; invoices cannot be e-mailed.
func (e *FieldError) Error() string {
	pos := e.Pos.String()
	if e.Column != "" {
		pos += fmt.Sprintf(" (%q)", e.Column)
	}
	if pos == "" {
		return e.Problem()
	}
	return pos + ": " + e.Problem()
}

// Problem is the error without its place: the rule or field, what is wrong
// and what to fix. It is what a cell beside the row itself says, as in a
// rejected-rows file:
//
//	field credit_limit: "12,5x" is not a decimal number. Fix: write the amount with a "." decimal separator, e.g. 1250.50
func (e *FieldError) Problem() string {
	var b strings.Builder
	switch {
	case e.Rule != "":
		b.WriteString("rule " + e.Rule)
		if e.Severity == SeverityWarning {
			b.WriteString(" (warning)")
		}
		b.WriteString(": ")
	case e.Field != "":
		b.WriteString("field " + e.Field + ": ")
		if e.Severity == SeverityWarning {
			b.WriteString("warning: ")
		}
	case e.Severity == SeverityWarning:
		b.WriteString("warning: ")
	}
	b.WriteString(e.message())
	if e.Hint != "" {
		msg := strings.TrimRight(b.String(), ".")
		b.Reset()
		b.WriteString(msg)
		b.WriteString(". Fix: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// message is the text of Err without a position the FieldError already
// shows (a *formats.ParseError carries its own).
func (e *FieldError) message() string {
	if e.Err == nil {
		return "invalid value"
	}
	if pe, ok := e.Err.(*formats.ParseError); ok && pe.Err != nil && pe.Pos == e.Pos {
		return pe.Err.Error()
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrorJSON is the JSON form of a FieldError, as written to
// <name>.error.json for programs: flat, with the cause as text and the full
// one-line message in Message.
type FieldErrorJSON struct {
	File     string `json:"file,omitempty"`
	Sheet    string `json:"sheet,omitempty"`
	Row      int    `json:"row,omitempty"`
	Col      int    `json:"col,omitempty"`
	Column   string `json:"column,omitempty"`
	Template string `json:"template,omitempty"`
	Field    string `json:"field,omitempty"`
	Value    string `json:"value,omitempty"`
	Rule     string `json:"rule,omitempty"`
	Severity string `json:"severity,omitempty"`
	Error    string `json:"error"`
	Hint     string `json:"hint,omitempty"`
	Message  string `json:"message"`
}

// JSON returns the JSON-friendly form of e.
func (e *FieldError) JSON() FieldErrorJSON {
	return FieldErrorJSON{
		File:     e.Pos.File,
		Sheet:    e.Pos.Sheet,
		Row:      e.Pos.Row,
		Col:      e.Pos.Col,
		Column:   e.Column,
		Template: e.Template,
		Field:    e.Field,
		Value:    e.Value,
		Rule:     e.Rule,
		Severity: e.Severity,
		Error:    e.message(),
		Hint:     e.Hint,
		Message:  e.Error(),
	}
}

// MarshalJSON encodes e as its FieldErrorJSON form.
func (e *FieldError) MarshalJSON() ([]byte, error) { return json.Marshal(e.JSON()) }
