package template

// The keys of JSON input and output (input.json, output.json); init puts
// them in templateKeys after the fixed-width keys (spec_fixedwidth.go,
// whose init runs first).

var jsonInputKeys = []keySpec{
	{Path: "input.json", Type: keyMapping, Doc: "How to read JSON documents; see JSON files."},
	{Path: "input.json.record", Type: keyText, Default: "the document: a top-level array, or JSON Lines", Doc: "The path of the array whose items are the records, members joined by `.` (`invoices`, `data.items`); `orders[].lines` reads the lines of every order. Each field's `column` is a path inside the record (`customer.id`, `lines[0].sku`), or `../name` for a member of the object around the array."},
}

var jsonOutputKeys = []keySpec{
	{Path: "output.json", Type: keyMapping, Doc: "Write a JSON document whose layout is written in the shape of the document, as XML layouts are; see JSON files."},
	{Path: "output.json.layout", Type: keyCodes, Required: true, Doc: "The document's members, each an expression or the members inside it, with the keys `$group`, `$each`, `$where` and `$if` of XML layouts: a member written once per group or row is an array. Aggregates (SUM, COUNT...) work as in XML layouts. Numbers are written as JSON numbers, exactly; a blank value leaves its member out."},
	{Path: "output.json.schema", Type: keyText, Doc: "A JSON Schema file (draft 2020-12, 2019-09, 7, 6 or 4), beside the template, the document is checked against before it is published; a document that does not match fails the job and is never published."},
	{Path: "output.json.document_name", Type: keyExpression, Doc: "With `$group` at the top of the layout, one document is written per group: the name of each (e.g. `\"invoice-\" + invoice_number + \".json\"`)."},
}

func init() {
	templateKeys = insertKeys(templateKeys, "input.fixed_width.records[].fields[].in", jsonInputKeys)
	templateKeys = insertKeys(templateKeys, "output.fixed_width.records[].fields[].in", jsonOutputKeys)
	m := make(map[string]*keySpec, len(templateKeys))
	for i := range templateKeys {
		m[templateKeys[i].Path] = &templateKeys[i]
	}
	specByPath = m
}
