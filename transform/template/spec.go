package template

import (
	"maps"
	"slices"
	"strings"

	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/erpipe/erpipe/transform/expression"
)

// Input formats (input.format).
const (
	FormatAuto = "auto"
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
	FormatXML  = "xml"
	FormatDMF  = "dmf" // D365 data packages (.zip)

	FormatFixedWidth = "fixed_width" // fixed-width text, laid out by input.fixed_width
	FormatJSON       = "json"        // a JSON document or JSON Lines, records picked by input.json.record
)

// LegacyEncodings are the encodings a CSV file that is not UTF-8 may be
// read with (input.csv.legacy_encoding, and legacy_encoding in
// erpipe.yaml).
var LegacyEncodings = []string{"windows-1252", "iso-8859-1", "iso-8859-15", "windows-1250", "windows-1251"}

// ParameterTypes are the types a template parameter may have.
var ParameterTypes = []string{expression.TypeString, expression.TypeBoolean, expression.TypeInteger, expression.TypeDecimal, expression.TypeDate}

// SourceFormats are the source formats of a DMF package's entity
// (output.dmf.entities[].source_format).
var SourceFormats = []string{dmf.CSVUnicode, dmf.CSV, dmf.XMLElement, dmf.XMLAttribute, dmf.Excel}

// keySpec describes one key of a template file. templateKeys is the one
// table of them: the JSON Schema (Schema), the key reference in
// docs/templates.md and the tests that keep both in step with the loader
// are made from it. A key the loader accepts must be listed here (a test
// parses the loader's sources and fails otherwise).
type keySpec struct {
	// Path is the key's place, dotted from the top of the file: "input.csv.delimiter".
	// "[]" marks the items of a list ("input.fields[].name") and "*" a name
	// the template chooses ("lookups.*" is one lookup table).
	Path string
	// Type is one of the Key* constants.
	Type string
	// Enum lists the accepted values of a KeyEnum key.
	Enum []string
	// Default is the value used when the key is left out, as written in
	// the reference ("" for none).
	Default string
	// Required says the key must be given (in its mapping, when that is given).
	Required bool
	// Min and Max bound a KeyInteger key.
	Min, Max int
	// Doc says what the key means, for the reference and editors' hovers.
	Doc string
	// Like names another list whose items this list's items are like
	// (their keys are listed there only), e.g. "input.fields".
	Like string
}

// Kinds of keys (KeySpec.Type).
const (
	keyText       = "text"        // one value, read as text
	keyExpression = "expression"  // an expression (see the reference)
	keyBool       = "boolean"     // true or false
	keyInteger    = "integer"     // a whole number in [Min, Max]
	keyEnum       = "enum"        // one of Enum
	keyTextList   = "text-list"   // one text or a list of texts
	keyMapping    = "mapping"     // key: value lines, the keys listed under it
	keyList       = "list"        // a list of mappings, their keys under Path+"[]"
	keyColumns    = "columns"     // name: expression lines, in order
	keyCodes      = "codes"       // a lookup table: code: value lines, or a mapping of its keys
	keyTextOrMap  = "text-or-map" // one text, or a mapping of the keys listed under it
	keyPathList   = "path-list"   // a list of part paths (remove:)
)

// templateKeys is the specification of a template file. Keep it in the
// order of the reference.
var templateKeys = []keySpec{
	{Path: "name", Type: keyText, Required: true, Doc: "The template's name, e.g. `customers-v3`."},
	{Path: "version", Type: keyText, Default: "0", Doc: "Its semantic version, e.g. `1.0.0`; written into every job record with the template's content hash."},
	{Path: "status", Type: keyEnum, Enum: []string{"draft", "completed"}, Default: "draft", Doc: "`draft` while it is being written; `completed` when pipelines may use it. A pipeline uses a draft only with `allow_draft: true`."},
	{Path: "description", Type: keyText, Doc: "One line saying what it does."},
	{Path: "extends", Type: keyTextOrMap, Doc: "Derive this template from a base template: the base's name (a built-in, or a template beside this file), or `{template: NAME, version: X}` to record the base version it was made against. The keys of this file override the base's parts; see Derived templates."},
	{Path: "extends.template", Type: keyText, Required: true, Doc: "The base template: a name, or a path relative to this file."},
	{Path: "extends.version", Type: keyText, Doc: "The base's version this template was made against. When the base has moved on and changed a part this template overrides, validate reports a conflict naming both sides."},
	{Path: "remove", Type: keyPathList, Doc: "Parts of the base to leave out, by path: `validations.email-present`, `input.fields.phone`, `lookups.payment_terms`, `output.dmf.entities.Customers V3.columns.PHONE`. Only with `extends`."},
	{Path: "parameters", Type: keyList, Doc: "Options of the template, each a name every expression may use, with a default; a derived template or a pipeline sets them (e.g. `sepa: true`)."},
	{Path: "parameters[].name", Type: keyText, Required: true, Doc: "The parameter's name, as expressions use it: a name, or two joined by a dot (`period.start`, as a schedule sets them)."},
	{Path: "parameters[].type", Type: keyEnum, Enum: ParameterTypes, Default: "string", Doc: "`string`, `boolean`, `integer`, `decimal` or `date` (written yyyy-MM-dd)."},
	{Path: "parameters[].default", Type: keyText, Required: true, Doc: "Its value unless set otherwise. Empty (`\"\"`) is blank for every type but string."},
	{Path: "parameters[].description", Type: keyText, Doc: "What it changes, for the person setting it."},
	{Path: "input", Type: keyMapping, Required: true, Doc: "How to read the file and which fields to take from it."},
	{Path: "input.format", Type: keyEnum, Enum: []string{FormatAuto, FormatCSV, FormatXLSX, FormatXML, FormatDMF, FormatFixedWidth, FormatJSON}, Default: "auto", Doc: "`auto` picks by the file's extension: `.csv` and `.txt` are read as CSV, `.xlsx` as Excel, `.xml` as XML (only when `xml.record` is given), `.json`, `.jsonl` and `.ndjson` as JSON (only when `json` is given). Any other file is refused with a message naming its extension and the formats the template reads. `fixed_width` reads a file of any name with the layout of `fixed_width`."},
	{Path: "input.csv", Type: keyMapping, Doc: "How to read CSV files."},
	{Path: "input.csv.delimiter", Type: keyText, Doc: "One character: `\",\"`, `\";\"`, `\"|\"`, or `tab`. Without it, the delimiter is the one the header row holds most of (comma, semicolon, tab or pipe; a comma when none), so that files exported with a European locale read too."},
	{Path: "input.csv.header", Type: keyBool, Default: "true", Doc: "The first row holds the column names. With `false`, columns are named `1`, `2`, `3`..."},
	{Path: "input.csv.encoding", Type: keyEnum, Enum: []string{"auto", "utf-8", "utf-16le", "utf-16be", "windows-1252"}, Default: "auto", Doc: "`auto` recognises a byte order mark (UTF-8, UTF-16)."},
	{Path: "input.csv.legacy_encoding", Type: keyEnum, Enum: LegacyEncodings, Doc: "With `encoding: auto`: the encoding of a file that has no BOM and is not UTF-8 (its first 64 KiB say), such as what Excel's \"CSV (Comma delimited)\" writes on a Western European Windows. Without it such a file is refused whole, with one message; erpipe.yaml may set it per pipeline (`legacy_encoding`)."},
	{Path: "input.csv.lazy_quotes", Type: keyBool, Default: "false", Doc: "Accept a quote character inside an unquoted value."},
	{Path: "input.csv.header_row", Type: keyInteger, Min: 1, Max: 1048576, Default: "the first row, or the row below a title", Doc: "The line that holds the column names; the lines above it (a title, the date of an export) are skipped as text, and rows keep the file's own numbers. Left out, the header is the first line that is not blank, or, when that one lacks the template's required columns and one of the first 10 rows holds them all, that row, with a warning naming it and what was skipped."},
	{Path: "input.xlsx", Type: keyMapping, Doc: "How to read Excel workbooks."},
	{Path: "input.xlsx.sheet", Type: keyText, Default: "the first sheet", Doc: "The name of the sheet to read (capitals don't matter)."},
	{Path: "input.xlsx.sheet_index", Type: keyInteger, Min: 1, Max: 10000, Default: "1", Doc: "The sheet's number (1 is the first), when `sheet` is not given."},
	{Path: "input.xlsx.header_row", Type: keyInteger, Min: 1, Max: 1048576, Default: "the first row, or the row below a title", Doc: "The row that holds the column names; the data starts below it. Left out, the header is the first row that is not blank, or, when that one lacks the template's required columns and one of the first 10 rows holds them all, that row, with a warning naming it and what was skipped (a title above the header, often merged across the columns)."},
	{Path: "input.xlsx.missing_sheet", Type: keyEnum, Enum: []string{"first", "error"}, Default: "first", Doc: "When the workbook has no sheet called `sheet`: `first` reads the first sheet and adds a warning to the job; `error` refuses the file."},
	{Path: "input.xml", Type: keyMapping, Doc: "How to read XML documents."},
	{Path: "input.xml.record", Type: keyText, Required: true, Doc: "The path of the element that repeats, e.g. `Document/BkToCstmrStmt/Stmt/Ntry`, or `//Ntry` for that element at any depth."},
	{Path: "input.fields", Type: keyList, Required: true, Doc: "The fields to take from each row; at least one."},
	{Path: "input.fields[].name", Type: keyText, Required: true, Doc: "How the rest of the template calls the value: letters, digits and `_`, starting with a letter (`credit_limit`); not a function name or a word of the expression language."},
	{Path: "input.fields[].column", Type: keyText, Default: "the `name`", Doc: "The column's header text in the file (capitals and spaces around it don't matter). For XML: the path inside the record, e.g. `Amt/@Ccy`."},
	{Path: "input.fields[].type", Type: keyEnum, Enum: expression.FieldTypes, Default: "string", Doc: "The kind of value; a value that is not of this kind leaves the row out with a message that says how to fix it."},
	{Path: "input.fields[].required", Type: keyBool, Default: "false", Doc: "A blank value is an error that leaves the row out. When the column itself is missing, the whole file is refused (unless the field has a `default`)."},
	{Path: "input.fields[].default", Type: keyText, Doc: "Text used when the cell is blank, read like the file's own text (`default: \"25\"`)."},
	{Path: "input.fields[].layout", Type: keyTextList, Default: "`yyyy-MM-dd`", Doc: "Dates: the layout (`dd.MM.yyyy`), or a list of layouts tried in turn."},
	{Path: "input.fields[].decimal_separator", Type: keyEnum, Enum: []string{".", ","}, Default: `"."`, Doc: "Decimals: the decimal separator of text values. Left out, `.` is read, and `,` too where it can't be mistaken (`12,5`, `1.250,50`; not `1,250`); set, only that one is read."},
	{Path: "input.fields[].thousands_separator", Type: keyEnum, Enum: []string{" ", ".", ",", "'"}, Doc: "Decimals and integers: the thousands separator of text values (none by default)."},
	{Path: "input.fields[].true_values", Type: keyTextList, Doc: "Booleans: the words that mean yes (default `true`, `yes`, `y`, `1`, `ja`, `j`, `x`)."},
	{Path: "input.fields[].false_values", Type: keyTextList, Doc: "Booleans: the words that mean no (default `false`, `no`, `n`, `0`, `nei`, `nein`)."},
	{Path: "input.sheets", Type: keyList, Doc: "Instead of fields: a workbook with a sheet per entity; each sheet has its own fields and names the output entity its rows go to (see multiinput.go)."},
	{Path: "input.sheets[].sheet", Type: keyText, Required: true, Doc: "The sheet's name."},
	{Path: "input.sheets[].entity", Type: keyText, Required: true, Doc: "The name of the output.dmf entity the sheet's rows go to."},
	{Path: "input.sheets[].header_row", Type: keyInteger, Min: 1, Max: 1048576, Default: "the first row, or the row below a title", Doc: "The row that holds the sheet's column names; left out, it is found as for `input.xlsx.header_row`."},
	{Path: "input.sheets[].fields", Type: keyList, Required: true, Like: "input.fields", Doc: "The sheet's fields, written like input.fields."},
	{Path: "lookups", Type: keyMapping, Doc: "Code tables, each under a name of its own: what the file says → what D365 expects. `LOOKUP(\"name\", key, default)` uses them."},
	{Path: "lookups.*", Type: keyCodes, Doc: "One table: `code: value` lines, or a mapping with `codes:` or `file:` and the keys below."},
	{Path: "lookups.*.codes", Type: keyMapping, Doc: "The table's `code: value` lines, when the table also says what a missing code does."},
	{Path: "lookups.*.file", Type: keyText, Doc: "A CSV (`.csv`, `.txt`) or Excel (`.xlsx`) file beside the template that holds the table."},
	{Path: "lookups.*.key", Type: keyText, Doc: "With `file`: the header of the column holding the codes."},
	{Path: "lookups.*.value", Type: keyText, Doc: "With `file`: the header of the column holding what they become."},
	{Path: "lookups.*.delimiter", Type: keyText, Default: `","`, Doc: "With a CSV `file`: its delimiter."},
	{Path: "lookups.*.encoding", Type: keyEnum, Enum: []string{"auto", "utf-8", "utf-16le", "utf-16be", "windows-1252"}, Default: "auto", Doc: "With a CSV `file`: its encoding."},
	{Path: "lookups.*.sheet", Type: keyText, Default: "the first sheet", Doc: "With an Excel `file`: the sheet that holds the table."},
	{Path: "lookups.*.missing", Type: keyEnum, Enum: []string{"default", "error"}, Default: "default", Doc: "What LOOKUP does with a code that is not in the table: `default` gives LOOKUP's third argument (or the table's `default`); `error` leaves the row out with a message naming the code and the table."},
	{Path: "lookups.*.default", Type: keyText, Doc: "With `missing: default`: the value for a missing code when LOOKUP gives no third argument (blank otherwise)."},
	{Path: "summary", Type: keyList, Doc: "Values computed over the whole input before any row, which every expression may use: `MIN(field)`, `MAX(field)`, `SUM(field)`, `COUNT(field)` or `COUNT()` over an input field (the period a SAF-T file's Company row gives, for every ledger line)."},
	{Path: "summary[].name", Type: keyText, Required: true, Doc: "The value's name, as expressions use it."},
	{Path: "summary[].expr", Type: keyExpression, Required: true, Doc: "One aggregate over an input field; blank cells are left out."},
	{Path: "model", Type: keyList, Doc: "Computed fields, each an expression over the input fields and the model fields above it."},
	{Path: "model[].name", Type: keyText, Required: true, Doc: "The computed field's name, like an input field's."},
	{Path: "model[].expr", Type: keyExpression, Required: true, Doc: "The expression that computes it."},
	{Path: "filter", Type: keyExpression, Doc: "A condition; rows where it is false (or blank) are left out without a message and counted as skipped."},
	{Path: "validations", Type: keyList, Doc: "Checks on every row, with a message and a severity."},
	{Path: "validations[].name", Type: keyText, Required: true, Doc: "A short name, unique in the template; the job lists it with each failure."},
	{Path: "validations[].condition", Type: keyExpression, Required: true, Doc: "True for a good row."},
	{Path: "validations[].message", Type: keyText, Required: true, Doc: "What is wrong and what to do, for the person fixing the file."},
	{Path: "validations[].severity", Type: keyEnum, Enum: []string{"error", "warning"}, Default: "error", Doc: "`error` leaves the row out of the output; `warning` reports the row and keeps it."},
	{Path: "checks", Type: keyList, Doc: "Conditions over groups of rows, such as \"the lines of a voucher balance\", using SUM, COUNT, MIN and MAX over each group's good rows."},
	{Path: "checks[].name", Type: keyText, Required: true, Doc: "A short name, unique in the template."},
	{Path: "checks[].group_by", Type: keyExpression, Required: true, Doc: "The expression whose value makes the groups, e.g. `voucher`."},
	{Path: "checks[].condition", Type: keyExpression, Required: true, Doc: "True for a good group, e.g. `SUM(debit) == SUM(credit)`."},
	{Path: "checks[].message", Type: keyText, Required: true, Doc: "What is wrong with the group and what to do."},
	{Path: "checks[].severity", Type: keyEnum, Enum: []string{"error", "warning"}, Default: "error", Doc: "`error` rejects every row of the group; `warning` reports the group once."},
	{Path: "output", Type: keyMapping, Required: true, Doc: "What to write: give one of `csv`, `xlsx` (or both), `dmf`, `xml`, `workbook` or `document`."},
	{Path: "output.file_name", Type: keyExpression, Default: "`input.name + \".zip\"` (DMF), `input.name + \".csv\"` (CSV), `input.name + \".xlsx\"` (XLSX)", Doc: "An expression giving the output file's name. It can use `input.name` (the input file's name without extension), `input.ext`, `template.name`, `template.version` and the parameters (a schedule sets `period.name`). A workbook beside a CSV file has the CSV file's name with `.xlsx`."},
	{Path: "output.csv", Type: keyMapping, Doc: "Write a delimited text file."},
	{Path: "output.csv.columns", Type: keyColumns, Required: true, Doc: "The output columns in order: header text → expression."},
	{Path: "output.csv.delimiter", Type: keyText, Default: `","`, Doc: "One character, or `tab`."},
	{Path: "output.csv.encoding", Type: keyEnum, Enum: []string{"utf-8", "utf-8-bom", "utf-16le"}, Default: "utf-8", Doc: "`utf-8-bom` is what Excel opens correctly."},
	{Path: "output.csv.crlf", Type: keyBool, Default: "false", Doc: "End lines with CR LF (Windows) instead of LF."},
	{Path: "output.csv.header", Type: keyBool, Default: "true", Doc: "Write the header row."},
	{Path: "output.csv.escape_formulas", Type: keyBool, Default: "true", Doc: "Put a `'` before a value that a spreadsheet would run as a formula (one starting with `=`, `+`, `-`, `@`, a tab or a carriage return that is not a number, such as `=HYPERLINK(...)`), so that a file opened in Excel shows it as text (OWASP's rule against CSV injection). Numbers such as `-12.50` stay as they are. Set `false` for a file only programs read, which must get every value exactly."},
	{Path: "output.xlsx", Type: keyMapping, Doc: "Write an Excel workbook of one sheet: on its own, or beside `output.csv` with the CSV file's columns. Text stays text; numbers, dates and true/false are cells of their type; a decimal with more digits than Excel keeps (15) is written as text."},
	{Path: "output.xlsx.sheet", Type: keyText, Default: "Sheet1", Doc: "The sheet's name (at most 31 characters, without `[ ] : * ? / \\`)."},
	{Path: "output.xlsx.header", Type: keyBool, Default: "true", Doc: "Write the header row."},
	{Path: "output.xlsx.columns", Type: keyColumns, Doc: "The columns in order: header text → expression. Required without `output.csv`; beside it, left out."},
	{Path: "output.dmf", Type: keyMapping, Doc: "Write a DMF data package for D365's Data management workspace."},
	{Path: "output.dmf.definition_group", Type: keyText, Default: "the template's name", Doc: "The data project's name in D365."},
	{Path: "output.dmf.description", Type: keyText, Default: "the definition group", Doc: "The package description."},
	{Path: "output.dmf.entities", Type: keyList, Required: true, Doc: "The entities in the package, at least one."},
	{Path: "output.dmf.entities[].name", Type: keyText, Required: true, Doc: "The entity's label as D365 shows it, e.g. `Customers V3`."},
	{Path: "output.dmf.entities[].target", Type: keyText, Required: true, Doc: "The entity's technical name, e.g. `CustCustomerV3Entity`."},
	{Path: "output.dmf.entities[].source_format", Type: keyEnum, Enum: SourceFormats, Default: "CSV-Unicode", Doc: "The format of the entity's data file."},
	{Path: "output.dmf.entities[].execution_unit", Type: keyInteger, Min: 1, Max: 9999, Default: "1", Doc: "The import order, as in the data project."},
	{Path: "output.dmf.entities[].level", Type: keyInteger, Min: 1, Max: 9999, Default: "1", Doc: "The import order within the execution unit."},
	{Path: "output.dmf.entities[].sequence", Type: keyInteger, Min: 1, Max: 9999, Default: "1", Doc: "The import order within the level."},
	{Path: "output.dmf.entities[].depends_on", Type: keyTextList, Doc: "The names of entities of the package that must be imported before this one (say, customer groups before customers); validate checks the import order keeps it."},
	{Path: "output.dmf.entities[].columns", Type: keyColumns, Required: true, Doc: "Staging field → expression, in the order D365 writes them (letters, digits and `_`)."},
	{Path: "output.xml", Type: keyMapping, Doc: "Write an XML document whose layout is written in the shape of the document; see XML documents."},
	{Path: "output.xml.schema", Type: keyList, Doc: "The schema files (XSD, beside the template) the document is validated against: a file, or a list of `{file, namespace, when}` of which the first whose `when` holds is used. An invalid document is never published."},
	{Path: "output.xml.schema[].file", Type: keyText, Required: true, Doc: "The XSD file, relative to the template; files it imports are looked up in the template's folder."},
	{Path: "output.xml.schema[].namespace", Type: keyText, Doc: "The document's namespace with this schema, written as `xmlns` on the root element."},
	{Path: "output.xml.schema[].when", Type: keyExpression, Doc: "A condition over the parameters, and with one document per group over the document's group too (its fields and aggregates); only the last schema may leave it out."},
	{Path: "output.xml.schematron", Type: keyTextList, Doc: "Business rules the documents must keep beyond their schema: Schematron rule files compiled to XSLT 2.0 (beside the template), such as the official Peppol and EN 16931 rules. They run with Saxon-HE in a Java runtime, once per job over all its documents; a failed assert flagged fatal fails the job like a schema error (nothing is published), a warning is reported. `[]` in a derived template turns the base's rules off."},
	{Path: "output.xml.namespace", Type: keyText, Doc: "The document's namespace, written as `xmlns` on the root element (with a single schema)."},
	{Path: "output.xml.namespaces", Type: keyCodes, Doc: "More namespace prefixes, `prefix: URI`, declared on the root element (e.g. `cbc: urn:oasis:...`)."},
	{Path: "output.xml.layout", Type: keyCodes, Required: true, Doc: "The document: its root element, with child elements, `@attributes`, and the keys `$group`, `$each`, `$where`, `$if` and `$value`; see XML documents."},
	{Path: "output.xml.document_name", Type: keyExpression, Doc: "With `$group` on the root element, one document is written per group: the name of each (e.g. `\"invoice-\" + invoice_number + \".xml\"`)."},
	{Path: "output.xml.control_totals", Type: keyList, Doc: "Totals checked in the written document before it is published: counts or sums of elements that must equal a header element."},
	{Path: "output.xml.control_totals[].name", Type: keyText, Required: true, Doc: "The check's name, shown when it fails."},
	{Path: "output.xml.control_totals[].in", Type: keyText, Required: true, Doc: "The element the check is made in, by name or path (`PmtInf`, `Document`); every such element is checked."},
	{Path: "output.xml.control_totals[].count", Type: keyText, Doc: "The path, below `in`, of the elements to count (`CdtTrfTxInf`)."},
	{Path: "output.xml.control_totals[].sum", Type: keyTextList, Doc: "The path, below `in`, of the elements whose values to add up, exactly (`CdtTrfTxInf/Amt/InstdAmt`), or a list of paths whose values are all added up."},
	{Path: "output.xml.control_totals[].equals", Type: keyText, Doc: "The path, below `in`, of the element that must hold the count or sum (`NbOfTxs`, `CtrlSum`). Give `equals` or `equals_sum`."},
	{Path: "output.xml.control_totals[].equals_sum", Type: keyText, Doc: "The path, below `in`, of elements whose sum must equal the sum at `sum` (a transaction's credit lines against its debit lines)."},
	{Path: "output.workbook", Type: keyMapping, Doc: "Fill a workbook designed in Excel (beside the template) with the data: values into the cells its defined names point at, and a range repeated once per row or group; see Excel templates."},
	{Path: "output.workbook.file", Type: keyText, Required: true, Doc: "The designed workbook (.xlsx), relative to the template. Its defined names (Formulas > Define Name) are what the layout binds."},
	{Path: "output.workbook.layout", Type: keyCodes, Required: true, Doc: "The workbook's defined names, each with an expression (a single cell) or, for a range repeated with `$each: row` or `$group`, its cells by column letter or defined name; `$group` at the top writes one workbook per group. The keys and aggregates are those of XML layouts."},
	{Path: "output.workbook.document_name", Type: keyExpression, Doc: "With `$group` at the top of the layout, the name of each group's workbook (e.g. `\"invoice-\" + invoice_number + \".xlsx\"`)."},
	{Path: "output.workbook.pdf", Type: keyBool, Default: "false", Doc: "Also write a PDF of each filled workbook, converted by LibreOffice in headless mode (which must be installed where erpipe runs)."},
	{Path: "output.document", Type: keyMapping, Doc: "Fill a Word document (.docx) designed with content controls (beside the template) with the data: values into the controls by their tags, and a control around table rows or paragraphs repeated once per row or group; see Word templates."},
	{Path: "output.document.file", Type: keyText, Required: true, Doc: "The designed document (.docx), relative to the template. The tags of its content controls (Developer > Properties) are what the layout binds."},
	{Path: "output.document.layout", Type: keyCodes, Required: true, Doc: "The document's content controls by tag, each with an expression or, for a control repeated with `$each: row` or `$group`, the controls in it; `$group` at the top writes one document per group. The keys and aggregates are those of XML layouts."},
	{Path: "output.document.document_name", Type: keyExpression, Doc: "With `$group` at the top of the layout, the name of each group's document (e.g. `\"letter-\" + customer + \".docx\"`)."},
	{Path: "output.document.pdf", Type: keyBool, Default: "false", Doc: "Also write a PDF of each filled document, converted by LibreOffice in headless mode (which must be installed where erpipe runs)."},
	{Path: "output.unpack", Type: keyMapping, Doc: "For input.format dmf: unpack the data package, one CSV file per entity and one workbook with a sheet per entity."},
	{Path: "output.unpack.csv", Type: keyBool, Default: "true", Doc: "Write a CSV file per entity."},
	{Path: "output.unpack.xlsx", Type: keyBool, Default: "true", Doc: "Write one workbook with a sheet per entity."},
	{Path: "tests", Type: keyList, Doc: "The template's test cases, run by `erpipe templates test`: an input file and what it must give."},
	{Path: "tests[].name", Type: keyText, Default: "the input's name", Doc: "The case's name in the test report."},
	{Path: "tests[].input", Type: keyText, Required: true, Doc: "The input file, relative to the template."},
	{Path: "tests[].expect", Type: keyText, Doc: "The expected output: a file (compared with the one output the run makes) or a folder (result.txt and every output, as `--update` writes them)."},
	{Path: "tests[].error", Type: keyText, Doc: "Instead of `expect`: a part of the message the run must give, as a file error, a rejected row or a warning."},
}

// specByPath indexes templateKeys.
var specByPath = func() map[string]*keySpec {
	m := make(map[string]*keySpec, len(templateKeys))
	for i := range templateKeys {
		m[templateKeys[i].Path] = &templateKeys[i]
	}
	return m
}()

// childKeys returns the keys directly under parent ("" for the top; a list
// path with "[]" for its items), in table order.
func childKeys(parent string) []*keySpec {
	var out []*keySpec
	prefix := ""
	if parent != "" {
		prefix = parent + "."
	}
	for i := range templateKeys {
		k := &templateKeys[i]
		rest, ok := strings.CutPrefix(k.Path, prefix)
		if !ok || rest == "" || strings.ContainsAny(rest, ".[") {
			continue
		}
		out = append(out, k)
	}
	return out
}

// keyName is the last part of a path.
func keyName(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// KeyNames returns every key name in the spec (the last part of each
// path), sorted; "*" is left out.
func KeyNames() []string {
	set := map[string]bool{}
	for _, k := range templateKeys {
		if n := keyName(k.Path); n != "*" {
			set[n] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
