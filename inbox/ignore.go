package inbox

import (
	"path/filepath"
	"strings"
)

// ignoredSuffixes are the endings, compared case-insensitively, of names
// that programs use while a file is still being written or downloaded.
var ignoredSuffixes = []string{
	".tmp",        // many programs
	".part",       // Firefox, wget, curl -C
	".partial",    // rclone, erpipe's own outbox
	".crdownload", // Chrome, Edge
	".filepart",   // WinSCP uploads
	".swp",        // vim
}

// ignoredNames are whole names, compared case-insensitively, that file
// browsers leave behind and that are never input.
var ignoredNames = []string{"thumbs.db", "desktop.ini"}

// Ignored reports whether a file name is one the watcher never takes,
// whatever its content: an empty name, a dotfile (".x", also rsync's and
// erpipe's temporary files), an Office lock file ("~$Book1.xlsx"), a backup
// ending in "~", a name ending in .tmp, .part, .partial, .crdownload,
// .filepart or .swp (in any letter case), and Thumbs.db and desktop.ini.
// name is a base name; Ignored does not look at folders.
func Ignored(name string) bool {
	if name == "" || name[0] == '.' || strings.HasPrefix(name, "~$") || strings.HasSuffix(name, "~") {
		return true
	}
	lower := strings.ToLower(name)
	for _, s := range ignoredSuffixes {
		if strings.HasSuffix(lower, s) {
			return true
		}
	}
	for _, n := range ignoredNames {
		if lower == n {
			return true
		}
	}
	return false
}

// compilePatterns checks extra ignore patterns and returns them lowered,
// so that matching is case-insensitive like the built-in rules.
func compilePatterns(patterns []string) ([]string, error) {
	out := make([]string, 0, len(patterns))
	for _, p := range patterns {
		if p == "" {
			continue
		}
		lp := strings.ToLower(p)
		if _, err := filepath.Match(lp, ""); err != nil {
			return nil, &PatternError{Pattern: p, Err: err}
		}
		if strings.ContainsRune(p, '/') || strings.ContainsRune(p, filepath.Separator) {
			return nil, &PatternError{Pattern: p, Err: errPatternSeparator}
		}
		out = append(out, lp)
	}
	return out, nil
}

// matchAny reports whether name matches one of the lowered patterns.
func matchAny(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return false
	}
	lower := strings.ToLower(name)
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, lower); ok {
			return true
		}
	}
	return false
}
