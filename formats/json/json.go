// Package json reads records from a JSON document as a stream: the items
// of an array picked by a path, or the values of a JSON Lines file (one
// JSON value a line, .jsonl / .ndjson). A large file is never loaded
// whole: only the record being read is kept, and of it only the fields
// asked for.
//
// For an export such as
//
//	{"company": "Fabrikam", "invoices": [
//	  {"number": "INV-1", "customer": {"id": "C-7"}, "total": 120.50, "lines": [...]},
//	  ...
//	]}
//
// the Options
//
//	Record: "invoices"
//	Fields: "number", "customer.id", "total", "../company"
//
// give one record per invoice: ["INV-1" "C-7" "120.50" "Fabrikam"].
//
// Paths are member names separated by ".": Record names the array (""
// is the document itself: a top-level array, or the values of JSON Lines),
// and "orders[].lines" the lines of every order. Fields are paths inside
// the record; "[n]" takes an array's item n (from 0), and each "../" goes
// up to the object around the record's array, whose members before the
// array are read (a statement's account, for each of its entries).
//
// Numbers are kept as written ("120.50", "1e3"): never through a float.
// true and false are "true" and "false", null is blank, and an object or
// array asked for as a field is its JSON text.
package json

import "errors"

// ErrNoRecords means the document has no array at the record path.
var ErrNoRecords = errors.New("the document has no array at the record path")
