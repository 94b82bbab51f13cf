package transform

import "io/fs"

// LoadText loads data as the template file name of fsys (files it refers
// to, such as lookup tables and its base, are resolved beside name in
// fsys, as LoadFS does), naming it display in messages. It is for text
// that is not saved yet: the template workbench of erpipe's console checks
// an edit in the place it will be saved to.
func LoadText(fsys fs.FS, name, display string, data []byte) (*Template, error) {
	return load(fsys, name, display, data)
}
