package template

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/erpipe/erpipe/transform/expression"
	"gopkg.in/yaml.v3"
)

// Derived templates. A template with `extends: BASE` is the base template
// with the derived file's keys merged in, at the level of YAML nodes and
// before anything is loaded:
//
//   - mappings merge key by key (input.csv.delimiter replaces the base's
//     delimiter and keeps its other csv keys; a lookup table or a column
//     list gets new entries added and same-named ones replaced);
//   - lists of named items (input.fields, model, validations, entities,
//     tests) merge by name: an item of the same name is merged into the
//     base's, a new name is added at the end;
//   - anything else (a value, an unnamed list) replaces the base's;
//   - `remove:` lists the base's parts to leave out, by path.
//
// Every place the derived file sets is an override. With
// `extends: {template: B, version: V}` the derived template records the
// base version it was made against: when the base has moved on, the base
// at version V is looked up (B/versions/V.yaml, or B@V.yaml beside it) and
// every part that the base changed since V and the derived file overrides
// is a conflict, reported with both places (ER's rebase).

// builtinBases holds the built-in templates (<name>/template.yaml), which
// extends: can name.
var builtinBases fs.FS

// RegisterBuiltins makes the built-in templates in fsys (laid out as
// <name>/template.yaml) available as bases of extends:. The templates
// package registers its embedded built-ins.
func RegisterBuiltins(fsys fs.FS) { builtinBases = fsys }

// nodeOrigin is the file a merged node comes from, so that problems in a
// base's parts name the base's file, and its lookup files are found
// beside it.
type nodeOrigin struct {
	file string // as shown in messages
	fsys fs.FS
	dir  string // the template's folder in fsys
}

// maxExtendsDepth bounds chains of bases (and catches cycles).
const maxExtendsDepth = 8

// Extend returns root with its base merged in when it has extends:, and
// root itself otherwise. Problems (an unknown base, a conflict) are added
// to l.errs. hash is the sha256 (hex) of the merged template, so that a
// change of the base changes the derived template's hash; it is "" when
// root has no base.
func (l *Decoder) Extend(fsys fs.FS, name string, root *yaml.Node) (merged *yaml.Node, hash string) {
	merged, changed := l.extendDepth(fsys, name, l.File, root, 0)
	if changed && len(l.Errs) == 0 {
		if out, err := yaml.Marshal(merged); err == nil {
			sum := sha256.Sum256(out)
			hash = hex.EncodeToString(sum[:])
		}
	}
	return merged, hash
}

// Origin returns the file system and folder of the base template that
// n was merged in from, so that files the base names (lookup tables) are
// found beside it. ok is false for the template's own nodes.
func (l *Decoder) Origin(n *yaml.Node) (fsys fs.FS, dir string, ok bool) {
	if o := l.origin[n]; o != nil {
		return o.fsys, o.dir, true
	}
	return nil, "", false
}

// extendDepth does extend for a file at name in fsys, shown as display.
func (l *Decoder) extendDepth(fsys fs.FS, name, display string, root *yaml.Node, depth int) (*yaml.Node, bool) {
	if root == nil || root.Kind != yaml.MappingNode {
		return root, false
	}
	extNode, extKey := MapGet(root, "extends")
	removeNode, removeKey := MapGet(root, "remove")
	if extNode == nil {
		if removeNode != nil {
			l.errorNode(removeKey, "remove: is only for a template that extends another (extends: BASE)")
			mapDelete(root, "remove")
		}
		return root, false
	}
	mapDelete(root, "extends")
	mapDelete(root, "remove")
	ref := l.extendsRef(extNode)
	if ref.template == "" {
		return root, false
	}
	if depth >= maxExtendsDepth {
		l.errorNode(extKey, "extends: the chain of bases is longer than %d templates, or a template extends itself", maxExtendsDepth)
		return root, false
	}
	base, err := findBase(fsys, path.Dir(name), filepath.Dir(display), ref.template)
	if err != nil {
		l.errorNode(ref.templateNode, "extends: %v", err)
		return root, false
	}
	baseRoot, ok := l.parseBase(base, ref.templateNode, depth)
	if !ok {
		return root, false
	}
	current := deepCopy(baseRoot)
	l.copyOrigins(baseRoot, current)

	var removed []partRef
	if removeNode != nil {
		removed = l.applyRemoves(baseRoot, removeNode, ref.template)
	}
	m := &merger{}
	merged := m.merge(baseRoot, root, nil)

	if ref.version != "" {
		baseVersion := scalarAt(current, "version")
		if baseVersion != ref.version {
			l.checkConflicts(ref, base, current, baseVersion, append(m.overrides, removed...), depth)
		}
	}
	return merged, true
}

// extendsRef is what extends: says.
type extendsRef struct {
	template, version         string
	templateNode, versionNode *yaml.Node
}

func (l *Decoder) extendsRef(n *yaml.Node) extendsRef {
	var ref extendsRef
	n = Resolve(n)
	if n.Kind == yaml.ScalarNode {
		ref.template, ref.templateNode = n.Value, n
		if strings.TrimSpace(n.Value) == "" {
			l.errorNode(n, "extends is empty; name the base template, e.g. extends: customers-v3")
			ref.template = ""
		}
		return ref
	}
	l.Mapping(n, "extends", map[string]KeyHandler{
		"template": func(_, v *yaml.Node) { ref.templateNode = v; ref.template, _ = l.NonEmpty(v, "extends.template") },
		"version":  func(_, v *yaml.Node) { ref.versionNode = v; ref.version, _ = l.NonEmpty(v, "extends.version") },
	}, "template")
	return ref
}

// baseFile is a base template found for extends:.
type baseFile struct {
	fsys    fs.FS
	name    string // in fsys
	display string
	data    []byte
}

// findBase looks for the base template ref: a path relative to the
// derived template, a template beside it (ref.yaml, ref/template.yaml,
// ../ref/template.yaml), or a built-in.
func findBase(fsys fs.FS, dir, displayDir, ref string) (*baseFile, error) {
	var tried []string
	try := func(fsys fs.FS, name, display string) *baseFile {
		if !fs.ValidPath(name) {
			return nil
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			tried = append(tried, display)
			return nil
		}
		return &baseFile{fsys: fsys, name: name, display: display, data: data}
	}
	var rels []string
	if strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml") || strings.Contains(ref, "/") {
		rels = []string{ref}
	} else {
		rels = []string{ref + ".yaml", ref + ".yml", path.Join(ref, "template.yaml"), path.Join("..", ref, "template.yaml")}
	}
	for _, rel := range rels {
		if b := try(fsys, path.Join(dir, rel), filepath.Join(displayDir, filepath.FromSlash(rel))); b != nil {
			return b, nil
		}
		// A template loaded from disk may name a base outside its own
		// folder (../base/template.yaml).
		if disk := filepath.Join(displayDir, filepath.FromSlash(rel)); !strings.HasPrefix(displayDir, "builtin:") {
			if st, err := os.Stat(disk); err == nil && !st.IsDir() {
				if b := try(DirFS(filepath.Dir(disk)), filepath.Base(disk), disk); b != nil {
					return b, nil
				}
			}
		}
	}
	if builtinBases != nil && fs.ValidPath(ref) && !strings.Contains(ref, "/") {
		if b := try(builtinBases, path.Join(ref, "template.yaml"), "builtin:"+path.Join(ref, "template.yaml")); b != nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("no base template %q: not a built-in, and not found as %s", ref, strings.Join(dedupeStrings(tried), ", "))
}

func dedupeStrings(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// parseBase parses a base and merges its own base in; its nodes are
// marked with its file.
func (l *Decoder) parseBase(b *baseFile, at *yaml.Node, depth int) (*yaml.Node, bool) {
	root, err := decodeRoot(b.data)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the file is empty")
		}
		l.errorNode(at, "extends: the base %s can't be read: %v", b.display, err)
		return nil, false
	}
	if root.Kind != yaml.MappingNode {
		l.errorNode(at, "extends: the base %s is not a template (a mapping of keys)", b.display)
		return nil, false
	}
	// The base's own problems are reported with the base's file name.
	l.keepSource(b.display, b.data)
	saved := l.File
	l.File = b.display
	l.markOrigin(root, &nodeOrigin{file: b.display, fsys: b.fsys, dir: path.Dir(b.name)})
	root, _ = l.extendDepth(b.fsys, b.name, b.display, root, depth+1)
	l.File = saved
	return root, true
}

// markOrigin records the origin of n and the nodes under it that have
// none yet.
func (l *Decoder) markOrigin(n *yaml.Node, o *nodeOrigin) {
	if n == nil {
		return
	}
	if l.origin == nil {
		l.origin = map[*yaml.Node]*nodeOrigin{}
	}
	if _, ok := l.origin[n]; !ok {
		l.origin[n] = o
	}
	for _, c := range n.Content {
		l.markOrigin(c, o)
	}
}

// copyOrigins gives the nodes of a deep copy the origins of the nodes
// they were copied from.
func (l *Decoder) copyOrigins(from, to *yaml.Node) {
	from = Resolve(from)
	if from == nil || to == nil {
		return
	}
	if o := l.origin[from]; o != nil {
		l.origin[to] = o
	}
	for i := range from.Content {
		if i < len(to.Content) {
			l.copyOrigins(from.Content[i], to.Content[i])
		}
	}
}

// errorNode reports a problem at n, in n's file.
func (l *Decoder) errorNode(n *yaml.Node, format string, args ...any) {
	l.Errorf(n, format, args...)
}

// fileOf is the file n comes from, as shown in messages.
func (l *Decoder) fileOf(n *yaml.Node) string {
	if o := l.origin[n]; o != nil {
		return o.file
	}
	return l.File
}

// partRef is a part of a template by path, and the node of the derived
// template that overrides (or removes) it.
type partRef struct {
	path []string
	node *yaml.Node
}

func pathString(p []string) string { return strings.Join(p, ".") }

// merger merges a derived template into its base and records what the
// derived template overrides.
type merger struct {
	overrides []partRef
}

func (m *merger) merge(base, over *yaml.Node, p []string) *yaml.Node {
	base, over = Resolve(base), Resolve(over)
	switch {
	case base.Kind == yaml.MappingNode && over.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(over.Content); i += 2 {
			k, v := over.Content[i], over.Content[i+1]
			if len(p) == 0 && (k.Value == "extends" || k.Value == "remove") {
				continue
			}
			kp := append(append([]string(nil), p...), k.Value)
			if j := mapIndex(base, k.Value); j >= 0 {
				base.Content[j+1] = m.merge(base.Content[j+1], v, kp)
			} else {
				base.Content = append(base.Content, k, v)
				m.overrides = append(m.overrides, partRef{kp, k})
			}
		}
		return base
	case base.Kind == yaml.SequenceNode && over.Kind == yaml.SequenceNode && namedList(base) && namedList(over):
		for _, it := range over.Content {
			name := itemName(it)
			ip := append(append([]string(nil), p...), name)
			if j := findNamed(base, name); j >= 0 {
				base.Content[j] = m.merge(base.Content[j], it, ip)
			} else {
				base.Content = append(base.Content, it)
				m.overrides = append(m.overrides, partRef{ip, it})
			}
		}
		return base
	}
	m.overrides = append(m.overrides, partRef{p, over})
	return over
}

// namedList says whether every item of a list is a mapping with a name.
func namedList(n *yaml.Node) bool {
	for _, it := range n.Content {
		if itemName(it) == "" {
			return false
		}
	}
	return true
}

func itemName(it *yaml.Node) string {
	it = Resolve(it)
	if it.Kind != yaml.MappingNode {
		return ""
	}
	if v, _ := MapGet(it, "name"); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func findNamed(list *yaml.Node, name string) int {
	for i, it := range list.Content {
		if itemName(it) == name {
			return i
		}
	}
	return -1
}

// applyRemoves deletes the parts remove: lists from base.
func (l *Decoder) applyRemoves(base, removeNode *yaml.Node, baseName string) []partRef {
	var out []partRef
	for _, it := range l.List(removeNode, "remove") {
		s, ok := l.NonEmpty(it, "remove")
		if !ok {
			continue
		}
		p := strings.Split(s, ".")
		if !deletePart(base, p) {
			l.Errorf(it, "remove: the base %s has no part %q%s", baseName, s, expression.DidYouMean(s, partPaths(base, nil)))
			continue
		}
		out = append(out, partRef{p, it})
	}
	return out
}

// partPaths lists the paths of the parts under n, for suggestions.
func partPaths(n *yaml.Node, p []string) []string {
	n = Resolve(n)
	var out []string
	switch {
	case n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			kp := append(append([]string(nil), p...), n.Content[i].Value)
			out = append(out, pathString(kp))
			out = append(out, partPaths(n.Content[i+1], kp)...)
		}
	case n.Kind == yaml.SequenceNode && namedList(n):
		for _, it := range n.Content {
			ip := append(append([]string(nil), p...), itemName(it))
			out = append(out, pathString(ip))
			out = append(out, partPaths(it, ip)...)
		}
	}
	return out
}

// partAt returns the node at path p (keys of mappings, names of list
// items), or nil.
func partAt(n *yaml.Node, p []string) *yaml.Node {
	for _, seg := range p {
		n = Resolve(n)
		switch {
		case n == nil:
			return nil
		case n.Kind == yaml.MappingNode:
			n, _ = MapGet(n, seg)
		case n.Kind == yaml.SequenceNode:
			j := findNamed(n, seg)
			if j < 0 {
				return nil
			}
			n = n.Content[j]
		default:
			return nil
		}
	}
	return Resolve(n)
}

// deletePart removes the part at p from n.
func deletePart(n *yaml.Node, p []string) bool {
	if len(p) == 0 {
		return false
	}
	parent := partAt(n, p[:len(p)-1])
	if parent == nil {
		return false
	}
	last := p[len(p)-1]
	switch parent.Kind {
	case yaml.MappingNode:
		return mapDelete(parent, last)
	case yaml.SequenceNode:
		if j := findNamed(parent, last); j >= 0 {
			parent.Content = append(parent.Content[:j], parent.Content[j+1:]...)
			return true
		}
	}
	return false
}

// checkConflicts reports the parts the derived template overrides that
// the base changed since the version the derived template was made
// against.
func (l *Decoder) checkConflicts(ref extendsRef, base *baseFile, current *yaml.Node, baseVersion string, parts []partRef, depth int) {
	at := ref.versionNode
	old, oldDisplay := findOldBase(base, ref.version)
	if old == nil {
		l.Errorf(at, "extends: this template was made against %s %s, but the base is now at version %s and version %s is not kept (as %s), so its changes can't be checked against this template's overrides; compare the two versions, then set extends.version to %s",
			ref.template, ref.version, orNone(baseVersion), ref.version, oldDisplay, orNone(baseVersion))
		return
	}
	oldRoot, ok := l.parseBase(old, at, depth)
	if !ok {
		return
	}
	if v := scalarAt(oldRoot, "version"); v != ref.version {
		l.Errorf(at, "extends: %s says version %s, not %s", old.display, orNone(v), ref.version)
		return
	}
	for _, o := range parts {
		if len(o.path) == 1 && (o.path[0] == "name" || o.path[0] == "version" || o.path[0] == "status" || o.path[0] == "description") {
			continue // a derived template always has its own
		}
		was, now := partAt(oldRoot, o.path), partAt(current, o.path)
		if equalNodes(was, now) {
			continue
		}
		where := "it removed it"
		if now != nil {
			where = fmt.Sprintf("now at %s:%d:%d", l.fileOf(now), now.Line, now.Column)
		}
		what := "changed"
		if was == nil {
			what = "added"
		}
		l.Errorf(o.node, "conflict: %s is overridden here, and the base %s %s it between version %s and %s (%s); keep this template's part or take the base's, then set extends.version to %s",
			pathString(o.path), ref.template, what, ref.version, orNone(baseVersion), where, orNone(baseVersion))
	}
	// Changes of the base that touch none of this template's parts are
	// picked up as they are.
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// findOldBase looks for the base at an earlier version: versions/V.yaml
// in the base's folder, or NAME@V.yaml beside it.
func findOldBase(b *baseFile, version string) (*baseFile, string) {
	dir := path.Dir(b.name)
	stem := strings.TrimSuffix(strings.TrimSuffix(path.Base(b.name), ".yaml"), ".yml")
	if stem == "template" {
		stem = path.Base(dir)
	}
	cands := []string{path.Join(dir, "versions", version+".yaml"), path.Join(dir, stem+"@"+version+".yaml")}
	displayDir := filepath.Dir(b.display)
	for _, c := range cands {
		if !fs.ValidPath(c) {
			continue
		}
		if data, err := fs.ReadFile(b.fsys, c); err == nil {
			rel := strings.TrimPrefix(c, dir+"/")
			return &baseFile{fsys: b.fsys, name: c, display: filepath.Join(displayDir, filepath.FromSlash(rel)), data: data}, ""
		}
	}
	return nil, filepath.Join(displayDir, "versions", version+".yaml")
}

// scalarAt is the text of a top-level scalar key.
func scalarAt(root *yaml.Node, key string) string {
	if v, _ := MapGet(root, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// equalNodes compares two YAML trees by content (not position, style or
// comments). Mappings compare as sets of keys.
func equalNodes(a, b *yaml.Node) bool {
	a, b = Resolve(a), Resolve(b)
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case yaml.ScalarNode:
		return a.Value == b.Value
	case yaml.MappingNode:
		if len(a.Content) != len(b.Content) {
			return false
		}
		for i := 0; i+1 < len(a.Content); i += 2 {
			bv, _ := MapGet(b, a.Content[i].Value)
			if bv == nil || !equalNodes(a.Content[i+1], bv) {
				return false
			}
		}
		return true
	}
	if len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !equalNodes(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// deepCopy copies a tree of nodes (aliases are resolved).
func deepCopy(n *yaml.Node) *yaml.Node {
	n = Resolve(n)
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = deepCopy(x)
	}
	return &c
}

func mapIndex(n *yaml.Node, key string) int {
	if n == nil || n.Kind != yaml.MappingNode {
		return -1
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// MapGet returns the value and key nodes of key in a mapping.
func MapGet(n *yaml.Node, key string) (val, k *yaml.Node) {
	if i := mapIndex(n, key); i >= 0 {
		return Resolve(n.Content[i+1]), n.Content[i]
	}
	return nil, nil
}

func mapDelete(n *yaml.Node, key string) bool {
	if i := mapIndex(n, key); i >= 0 {
		n.Content = append(n.Content[:i], n.Content[i+2:]...)
		return true
	}
	return false
}

// Effective returns the YAML of the template at name in fsys (shown as
// display in messages) with its base merged in, as the loader sees it.
func Effective(fsys fs.FS, name, display string) ([]byte, error) {
	root, err := effectiveRoot(fsys, name, display)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(root)
}

// effectiveRoot parses a template and merges its base in.
func effectiveRoot(fsys fs.FS, name, display string) (*yaml.Node, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	l := &Decoder{File: display}
	root, ok := l.ParseDocument(data)
	if !ok {
		return nil, l.Errs
	}
	root, _ = l.Extend(fsys, name, root)
	if len(l.Errs) > 0 {
		return nil, l.Errs.Sorted()
	}
	return root, nil
}
