package layout

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/erpipe/erpipe/internal/filename"
	"github.com/erpipe/erpipe/transform/expression"
)

// One document per group. When the layout's root element has $group (an
// e-invoice per invoice number), each group of rows is written as a
// document of its own, named by output.xml.document_name, and each is
// validated and checked before any is published: one invalid document
// fails the job and none is published.

// RenderDocs writes and verifies every document in outDir under temporary
// names, and returns those names and the final ones.
func (x *XMLRun) RenderDocs(outDir string) (tmps, finals []string, err error) {
	if err := x.finish(); err != nil {
		return nil, nil, err
	}
	x.cur, x.hier = x.curs[0], 0
	seen := map[string]int{}
	var ev expression.Evaluator
	lr := x.levels[0][0]
	for range x.hiers[0].root.children {
		g, err := lr.next()
		if err != nil {
			return tmps, finals, fmt.Errorf("reading the groups: %w", err)
		}
		if err := x.enter(g); err != nil {
			return tmps, finals, err
		}
		v, err := ev.Eval(x.spec.docName, x.env)
		if err != nil {
			return tmps, finals, x.evalErr(x.spec.root, " (output.xml.document_name)", err)
		}
		name := expression.Text(v)
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`+"\x00") {
			return tmps, finals, x.evalErr(x.spec.root, " (output.xml.document_name)",
				fmt.Errorf("gave %q, which is not a file name; make it give a plain name such as \"invoice-\" + invoice_number + \".xml\"", name))
		}
		if row, dup := seen[name]; dup {
			return tmps, finals, x.evalErr(x.spec.root, " (output.xml.document_name)",
				fmt.Errorf("gave %q, the name of the document of row %d too; make the name differ per group (use the group's keys)", name, row))
		}
		seen[name] = x.row
		if err := x.chooseSchema(); err != nil {
			return tmps, finals, x.evalErr(x.spec.root, " (output.xml.schema when)", err)
		}
		tmp, err := x.renderDoc(outDir, name, g)
		if tmp != "" {
			tmps, finals = append(tmps, tmp), append(finals, filepath.Join(outDir, name))
		}
		if err != nil {
			return tmps, finals, err
		}
	}
	return tmps, finals, nil
}

// renderDoc writes the document of group g to a temporary file in outDir
// and verifies it.
func (x *XMLRun) renderDoc(outDir, name string, g *group) (string, error) {
	f, err := os.CreateTemp(outDir, filename.TempPattern(name))
	if err != nil {
		return "", fmt.Errorf("can't create the output: %w", err)
	}
	tmp := f.Name()
	// The trace of output lines → input rows: each document's part of it
	// starts at its offset in traceAt, kept for the rules run over all the
	// documents (CheckRules).
	if x.tf == nil {
		if x.tf, err = os.CreateTemp(x.dir, "trace-*"); err != nil {
			f.Close()
			return tmp, err
		}
	}
	end, err := x.tf.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return tmp, err
	}
	x.traceAt = append(x.traceAt, end)
	x.trace = bufio.NewWriter(x.tf)
	bw := bufio.NewWriterSize(f, 64<<10)
	x.out = &xmlWriter{w: bw, line: 1}
	x.out.raw(`<?xml version="1.0" encoding="UTF-8"?>`)
	start := x.out.line
	err = x.element(x.spec.root, g, true)
	x.traced(start, x.row)
	x.out.raw("\n")
	if err == nil {
		err = x.out.err
	}
	if err == nil {
		err = x.trace.Flush()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return tmp, err
	}
	return tmp, x.Verify(tmp)
}
