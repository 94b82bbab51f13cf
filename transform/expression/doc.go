// Package expression is erpipe's expression language: the formulas of a
// template's model fields, filters, validations and output columns, with
// the ER-style function library, exact decimals and typed input values.
//
// Expressions are compiled with github.com/expr-lang/expr, sandboxed (no
// builtins; only the names in Env and the function library, see
// Functions). Compile gives a Program, or every Problem with its place in
// the expression text; an Evaluator runs programs over a row's values,
// kept in a map (Eval) or, once Program.Bind has numbered the names, in a
// slice (EvalSlots). Names alone and plain calls run without the VM.
//
// Values are nil (blank), string, int64, decimal.Decimal, time.Time or
// bool; Text renders any of them. Amounts are exact decimals: float
// literals are compiled to decimals and operators never use floating
// point. Small amounts run as a Dec64 (an int64 coefficient and an
// exponent) and fall back to decimal.Decimal when they outgrow it;
// Exported turns a Dec64 into a decimal.Decimal for other code.
// Arithmetic with a blank value gives blank; ordering comparisons
// (< <= > >=) with blank are false; blank == "" is true.
//
// Compile also checks the kinds of value each part of an expression may
// have (Type), from the types Env.Types gives its names: an operation
// that fails for every value of those kinds, such as comparing a text
// field with a number, is a Problem with a fix, not an error on every
// row (see typecheck.go).
//
// An InputField turns the text of a cell into a typed value (string,
// integer, decimal with either separator, date and datetime layouts in
// .NET style, see ParseDateLayout, boolean), with a ValueError that says
// what to write instead.
package expression
