//go:build !linux

package folder

// renameNoReplace renames oldpath to newpath unless newpath exists, in
// which case it fails with an error matching os.ErrExist. Outside Linux it
// checks, then renames.
func renameNoReplace(oldpath, newpath string) error {
	return checkThenRename(oldpath, newpath)
}
