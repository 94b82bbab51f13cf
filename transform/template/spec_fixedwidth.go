package template

import "slices"

// The keys of fixed-width layouts (input.fixed_width, output.fixed_width)
// are kept here; init puts them in templateKeys after the keys they
// follow in the reference.

func fixedWidthKeys(prefix string, output bool) []keySpec {
	p := prefix + ".fixed_width"
	keys := []keySpec{
		{Path: p, Type: keyMapping, Doc: "The layout of a fixed-width text file: its record types and their fields by position; see Fixed-width files."},
	}
	if output {
		keys[0].Doc = "Write a fixed-width text file (a bank's payment file): its record types, when each is written, and each field's value; see Fixed-width files."
	} else {
		keys = append(keys, keySpec{Path: p + ".record", Type: keyText, Default: "the only record type", Doc: "The record type whose lines are the rows (the detail line); fields of other record types hold that type's last record (the header above)."})
		keys = append(keys, keySpec{Path: p + ".attach", Type: keyTextList, Doc: "Record types that belong to the row before them, such as NACHA's addenda after its entry: their fields are the row's own (blank for a row that has none)."})
	}
	keys = append(keys,
		keySpec{Path: p + ".encoding", Type: keyEnum, Enum: []string{"utf-8", "ascii", "windows-1252", "iso-8859-1", "iso-8859-15", "windows-1250", "windows-1251"}, Default: "utf-8", Doc: "The file's encoding. `ascii` refuses any other character (NACHA)."},
		keySpec{Path: p + ".line_ending", Type: keyEnum, Enum: []string{"lf", "crlf", "none"}, Default: "lf", Doc: "How lines end when written; either is read. `none`: the records follow each other without line breaks, each as long as its record type (files of mainframe origin), and are read so."},
		keySpec{Path: p + ".discriminator", Type: keyMapping, Doc: "Where each line holds its record type's code; needed with more than one record type."},
		keySpec{Path: p + ".discriminator.start", Type: keyInteger, Min: 1, Max: 100000, Required: true, Doc: "The code's first position, from 1."},
		keySpec{Path: p + ".discriminator.length", Type: keyInteger, Min: 1, Max: 100, Required: true, Doc: "The code's length in characters."},
		keySpec{Path: p + ".block", Type: keyMapping, Doc: "Blocking: the file is filled with lines of `fill` up to a multiple of `lines` lines (NACHA: 10 lines, 9s); such lines are skipped when read."},
		keySpec{Path: p + ".block.lines", Type: keyInteger, Min: 1, Max: 1000, Required: true, Doc: "Lines per block."},
		keySpec{Path: p + ".block.fill", Type: keyText, Default: `"9"`, Doc: "The character that fills the lines added."},
	)
	if output {
		keys = append(keys, keySpec{Path: p + ".group_by", Type: keyTextList, Doc: "Expressions whose values make the groups (a batch): a new group starts at each row whose values differ from the row before, so sort the rows by them."})
	}
	r := p + ".records"
	keys = append(keys,
		keySpec{Path: r, Type: keyList, Required: true, Doc: "The record types, each with its fields."},
		keySpec{Path: r + "[].name", Type: keyText, Required: true, Doc: "The record type's name (`entry`, `batch_header`)."},
		keySpec{Path: r + "[].code", Type: keyText, Doc: "The code the discriminator holds on its lines (`\"6\"`)."},
		keySpec{Path: r + "[].length", Type: keyInteger, Min: 1, Max: 100000, Default: "the end of its last field", Doc: "The line's length: written padded with blanks to it; longer lines are refused when read."},
	)
	if output {
		keys = append(keys, keySpec{Path: r + "[].when", Type: keyExpression, Doc: "A condition over the row (or the group's first or last row): the record is written only where it holds, such as an addenda record only for a payment with a remittance text."})
		keys = append(keys, keySpec{Path: r + "[].write", Type: keyEnum, Enum: []string{"start", "group_start", "each", "group_end", "end"}, Required: true, Doc: "When it is written: `start` (once, with the first row's values), `group_start`, `each` row, `group_end` (with the group's last row's values) or `end`."})
	}
	f := r + "[].fields"
	keys = append(keys,
		keySpec{Path: f, Type: keyList, Required: true, Doc: "The record's fields, in order."},
		keySpec{Path: f + "[].name", Type: keyText, Required: true, Doc: "The field's name; input fields name it as `record.field`, or by name alone when no other record type has it."},
		keySpec{Path: f + "[].start", Type: keyInteger, Min: 1, Max: 100000, Default: "right after the field before", Doc: "Its first position, from 1, as the format's specification numbers them."},
		keySpec{Path: f + "[].length", Type: keyInteger, Min: 1, Max: 100000, Required: true, Doc: "How many characters it takes."},
		keySpec{Path: f + "[].align", Type: keyEnum, Enum: []string{"left", "right"}, Default: "left for text, right for numbers", Doc: "Which side the value keeps; the other is padded."},
		keySpec{Path: f + "[].pad", Type: keyText, Default: `" " for text, "0" for numbers`, Doc: "The one character that fills the rest."},
		keySpec{Path: f + "[].numeric", Type: keyBool, Default: "false", Doc: "The field holds a number: read as a decimal (its implied decimals placed), written from one."},
		keySpec{Path: f + "[].decimals", Type: keyInteger, Min: 0, Max: 18, Default: "0", Doc: "Implied decimals: 1234.56 with 2 is written `123456`. A value with more decimals is refused: round it in `value`."},
		keySpec{Path: f + "[].sign", Type: keyEnum, Enum: []string{"none", "leading", "trailing", "overpunch"}, Default: "none", Doc: "`none`: unsigned, a negative value is refused; `leading` or `trailing`: a `-` or `+` before or after the digits; `overpunch`: the last digit carries the sign (`{`, `A`-`I` for +0..9, `}`, `J`-`R` for -0..9), as in COBOL files."},
		keySpec{Path: f + "[].truncate", Type: keyBool, Default: "false", Doc: "Cut a text longer than the field (a name); without it such a value is an error."},
		keySpec{Path: f + "[].text", Type: keyText, Doc: "A constant the format fixes (a format code such as `094`): written as it is, and checked when read."},
	)
	if output {
		keys = append(keys, keySpec{Path: f + "[].value", Type: keyExpression, Doc: "The field's value: an expression over the row (with dates written by DATEFORMAT). Left out, the field is blank (numbers: zeros)."})
	}
	keys = append(keys,
		keySpec{Path: f + "[].count", Type: keyTextList, Doc: "A control field: the number of records of these types (in the scope)."},
		keySpec{Path: f + "[].sum", Type: keyText, Doc: "A control field: the sum of a numeric field, `record.field`, over the scope."},
		keySpec{Path: f + "[].hash", Type: keyText, Doc: "A control field: the sum of a numeric field, `record.field`, of which only the field's rightmost digits are kept (NACHA's entry hash)."},
		keySpec{Path: f + "[].blocks", Type: keyBool, Doc: "A control field: the number of blocks of the file (`block.lines`)."},
		keySpec{Path: f + "[].scope", Type: keyText, Default: "the whole file", Doc: "For a control field: the record type that starts what is counted (a batch header). A count includes its own record when that is of a type counted: `count: batch_header` in a batch header is the batch's number."},
		keySpec{Path: f + "[].where", Type: keyText, Doc: "For a control field: count or add up only the records whose field `record.field` holds one of `in` (the credits of a batch by their transaction codes)."},
		keySpec{Path: f + "[].in", Type: keyTextList, Doc: "With `where`: the values kept."},
	)
	return keys
}

func init() {
	templateKeys = insertKeys(templateKeys, "input.xml.record", fixedWidthKeys("input", false))
	templateKeys = insertKeys(templateKeys, "output.xml.control_totals[].equals_sum", fixedWidthKeys("output", true))
	m := make(map[string]*keySpec, len(templateKeys))
	for i := range templateKeys {
		m[templateKeys[i].Path] = &templateKeys[i]
	}
	specByPath = m
}

// insertKeys puts keys after the key at path after.
func insertKeys(all []keySpec, after string, keys []keySpec) []keySpec {
	i := slices.IndexFunc(all, func(k keySpec) bool { return k.Path == after })
	if i < 0 {
		panic("template: no key " + after)
	}
	return slices.Insert(slices.Clone(all), i+1, keys...)
}
