package transform

import (
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
