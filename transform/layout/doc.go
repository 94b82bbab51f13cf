// Package layout is erpipe's document layouts: the outputs whose shape a
// template describes beyond a table of columns.
//
//   - XML (output.xml): a tree of the document's own element names with
//     expressions, $group, $each and aggregates (COUNT, SUM, GROUPSUM,
//     ...), checked against XSDs and control totals. It is written in two
//     passes: an XMLRun spools each row the runner gives it (Add) to disk,
//     then writes the document from the spool (Render, or RenderDocs for
//     one document per group) and verifies what it wrote (Verify: its
//     schema, which Render checks on another goroutine as it writes, and
//     its control totals, read back from the file). The
//     rows are sorted by group on disk (an external merge sort, package
//     internal/extsort), and the groups summed up as the sorted rows pass
//     and kept in a file per level, so memory stays flat however many
//     rows and groups there are (a ledger's voucher per few lines; see
//     spool.go).
//   - XLSX (output.xlsx): one streamed sheet whose cells keep their
//     types, on its own or beside a CSV file (XLSXWriter).
//
// A Loader reads both from a template's YAML with the template's Decoder
// (package template) and compiles their expressions (package expression).
// Rows reach a layout as the runner computes them: one value per Column,
// encoded with EncodeValue. Package transform runs templates and calls
// these; the layouts know nothing of inputs, jobs or destinations.
package layout
