// Package xml reads repeating records from an XML document as a stream: the
// element that repeats is picked by a path, and each record's fields by paths
// relative to it. A large file is never loaded whole.
//
// For a camt.053 bank statement,
//
//	<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
//	  <BkToCstmrStmt><Stmt>
//	    <Ntry>
//	      <Amt Ccy="EUR">105.00</Amt>
//	      <CdtDbtInd>CRDT</CdtDbtInd>
//	      <BookgDt><Dt>2024-05-02</Dt></BookgDt>
//	    </Ntry>
//	    ...
//
// the Options
//
//	Record: "Document/BkToCstmrStmt/Stmt/Ntry" (or "//Ntry")
//	Fields: "Amt", "Amt/@Ccy", "CdtDbtInd", "BookgDt/Dt"
//
// give one record per Ntry: ["105.00" "EUR" "CRDT" "2024-05-02"].
//
// Paths are local element names separated by "/"; namespace prefixes in
// the paths and in the document are ignored. The text of an element is all
// the text inside it, nested elements included, as written (not trimmed).
// Only what the fields need is kept: other elements are read past.
//
// Records do not nest: an element that matches the record path inside a
// record is part of that record, not a record of its own.
//
// Encodings: UTF-8, UTF-16 with a BOM (or without one, recognised by the
// "<?xml" it starts with), and any encoding the XML declaration names that
// the WHATWG Encoding Standard knows (ISO-8859-1, windows-1252, ...).
package xml

import "errors"

// ErrEmpty means the document has no element at all: no bytes, only a
// byte order mark, white space, comments or a declaration. NewReader returns
// it wrapped in a *formats.ParseError that names the file; test for it with
// errors.Is.
var ErrEmpty = errors.New("the file is empty")
