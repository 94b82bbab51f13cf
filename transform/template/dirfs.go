package template

import (
	"errors"
	"io/fs"
	"os"
	"strings"
)

// DirFS is the file system of the template folder dir, as os.DirFS, but a
// name that leads out of dir through a symbolic link is refused
// (os.Root): a template may name files in its folder (lookup tables,
// schemas, test inputs), and a link placed there must not make it read,
// and publish, a file from anywhere else.
func DirFS(dir string) fs.FS { return rootFS(dir) }

type rootFS string

// Open opens name under the folder; the root is held only for the open.
func (d rootFS) Open(name string) (fs.File, error) {
	r, err := os.OpenRoot(string(d))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// errOutside is what PathCause says of a file reached through a link that
// leaves the template's folder.
var errOutside = errors.New("it is a symbolic link to a place outside the template's folder, which a template may not read; copy the file into the folder")

// outside reports whether err is os.Root's refusal of a path that leaves
// its folder.
func outside(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}
