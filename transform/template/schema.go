package template

import (
	"bytes"
	"encoding/json"
	"strings"
)

// SchemaID is the $id of the JSON Schema of template files.
const schemaID = "https://github.com/erpipe/erpipe/docs/template.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of template files, made
// from templateKeys: YAML editors (VS Code with the YAML extension, and
// others that speak the yaml-language-server protocol) use it to complete
// keys, show their descriptions and flag unknown keys and wrong values as
// the user types. The loader checks more (expressions, names, files); run
// `erpipe templates validate` for that.
func Schema() []byte {
	root := objectSchema("")
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = schemaID
	root["title"] = "erpipe template"
	root["description"] = "A format configuration of erpipe: what to read, how to compute and check it, and what to write. Reference: docs/templates.md."
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(orderedSchema(root)); err != nil {
		panic(err) // only maps, slices and strings: can't fail
	}
	return b.Bytes()
}

type schema = map[string]any

// scalarTypes are the JSON types a YAML scalar read as text may have.
var scalarTypes = []string{"string", "number", "integer", "boolean", "null"}

// objectSchema is the schema of the mapping at path (with "[]" for list
// items): its keys, with additionalProperties false.
func objectSchema(path string) schema {
	props := map[string]any{}
	var required []string
	var order []string
	for _, k := range childKeys(path) {
		name := keyName(k.Path)
		if name == "*" {
			continue
		}
		props[name] = keySchema(k)
		order = append(order, name)
		if k.Required {
			required = append(required, name)
		}
	}
	s := schema{"type": "object", "properties": orderedMap{keys: order, m: props}, "additionalProperties": false}
	if star := specByPath[joinPath(path, "*")]; star != nil {
		s["additionalProperties"] = keySchema(star)
		delete(s, "properties")
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// keySchema is the schema of one key's value.
func keySchema(k *keySpec) schema {
	s := schema{}
	switch k.Type {
	case keyText:
		s["type"] = scalarTypes
	case keyExpression:
		s["type"] = []string{"string", "number", "boolean"}
	case keyBool:
		s["type"] = "boolean"
	case keyInteger:
		s["type"] = "integer"
		s["minimum"] = k.Min
		s["maximum"] = k.Max
	case keyEnum:
		s["enum"] = k.Enum
	case keyTextList:
		s["anyOf"] = []schema{{"type": scalarTypes}, {"type": "array", "items": schema{"type": scalarTypes}}}
	case keyMapping:
		if len(childKeys(k.Path)) == 0 {
			s["type"] = "object"
			s["additionalProperties"] = schema{"type": scalarTypes}
		} else {
			s = objectSchema(k.Path)
		}
	case keyList:
		s["type"] = "array"
		items := k.Path + "[]"
		if k.Like != "" {
			items = k.Like + "[]"
		}
		s["items"] = objectSchema(items)
	case keyColumns:
		s["type"] = "object"
		s["additionalProperties"] = schema{"type": []string{"string", "number", "boolean"}}
	case keyCodes:
		structured := objectSchema(k.Path)
		s["anyOf"] = []schema{
			{"type": "object", "required": []string{"file"}, "properties": structured["properties"], "additionalProperties": false},
			{"type": "object", "required": []string{"codes"}, "properties": structured["properties"], "additionalProperties": false},
			{"type": "object", "additionalProperties": schema{"type": scalarTypes}},
		}
	case keyTextOrMap:
		s["anyOf"] = []schema{{"type": "string"}, objectSchema(k.Path)}
	case keyPathList:
		s["type"] = "array"
		s["items"] = schema{"type": "string"}
	}
	s["description"] = describe(k)
	return s
}

// describe is the description an editor shows for k.
func describe(k *keySpec) string {
	d := strings.ReplaceAll(k.Doc, "`", "")
	if k.Default != "" {
		d += " Default: " + strings.ReplaceAll(k.Default, "`", "") + "."
	}
	return d
}

// orderedMap is a JSON object that keeps its keys in the order given.
type orderedMap struct {
	keys []string
	m    map[string]any
}

// MarshalJSON writes the keys in order.
func (o orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(orderedSchema(o.m[k]))
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// schemaKeyOrder is the order keys of a schema object are written in, for
// a file people read.
var schemaKeyOrder = []string{"$schema", "$id", "title", "description", "type", "enum", "minimum", "maximum", "required", "properties", "items", "anyOf", "additionalProperties"}

// orderedSchema turns schema maps (recursively) into orderedMaps.
func orderedSchema(v any) any {
	switch x := v.(type) {
	case schema:
		o := orderedMap{m: map[string]any{}}
		for _, k := range schemaKeyOrder {
			if val, ok := x[k]; ok {
				o.keys = append(o.keys, k)
				o.m[k] = orderedSchema(val)
			}
		}
		return o
	case []schema:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = orderedSchema(s)
		}
		return out
	}
	return v
}
