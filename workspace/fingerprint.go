package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Fingerprint sums what a workspace's configuration is read from: its
// configuration file (erpipe.yaml, or the file configPath names) and every
// file under templates/, by name, size and modification time. It changes
// when any of them changes, appears or goes, so that a daemon can tell
// when to read its configuration again without reading it. A folder that
// cannot be read counts as it is (its error is part of the sum).
func Fingerprint(root, configPath string) string {
	h := sha256.New()
	add := func(path string, fi fs.FileInfo, err error) {
		if err != nil {
			fmt.Fprintf(h, "%s\x00error\x00%v\n", path, err)
			return
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%v\n", path, fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
	}
	if configPath == "" {
		configPath = filepath.Join(root, ConfigFile)
	}
	fi, err := os.Stat(configPath)
	if os.IsNotExist(err) {
		fmt.Fprintf(h, "%s\x00absent\n", configPath)
	} else {
		add(configPath, fi, err)
	}
	// WalkDir visits in lexical order, so the same tree sums the same.
	filepath.WalkDir(filepath.Join(root, "templates"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if !os.IsNotExist(err) {
				add(path, nil, err)
			}
			return nil
		}
		fi, err := d.Info()
		add(path, fi, err)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Fingerprint is the fingerprint of w's configuration as it is now on
// disk (see the function Fingerprint).
func (w *Workspace) Fingerprint() string { return Fingerprint(w.Root, w.ConfigPath) }
