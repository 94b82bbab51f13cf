// Package template is the template language: how a template file is
// written and read, before anything in it is compiled or run.
//
//   - Decoder reads a template's YAML node by node (Mapping, List, Str,
//     OneOf, ...), so that every problem is a PosError at the file's line
//     and column; a template's problems are returned together as Errors.
//   - Decoder.Extend merges a derived template's base in (extends:,
//     remove:, and the conflicts of a rebase, as in ER); Effective gives
//     the merged YAML, RegisterBuiltins the bases that extends: can name
//     besides the template's folder.
//   - spec.go is the reference of every key, from which Schema makes the
//     JSON Schema editors use and docs/templates.md its key table.
//   - DiffFiles and DiffFS compare two templates (or versions) key by key.
//   - FieldError is the other kind of problem reported against a
//     template: a data error at a file, sheet, row and column, naming the
//     template field or rule it feeds and what to fix.
//
// Package transform loads a template with a Decoder, compiles its
// expressions (package expression) and runs it.
package template
