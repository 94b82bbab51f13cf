package inbox

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// openForWriting returns, for each of paths, the id of a process that has
// the file open for writing, or 0 if none is seen. It reads /proc once:
// for each descriptor of each process it may inspect, the link target's
// base name is compared with those of paths, and only on a match is the
// descriptor stat'ed (same device and inode: robust to symlinks and bind
// mounts in the folder's path) and its fdinfo flags read. Processes of
// other users are seen only when the watcher runs as root; without /proc
// nothing is seen.
func openForWriting(paths []string) []int {
	out := make([]int, len(paths))
	type target struct {
		dev, ino uint64
		i        int
	}
	byBase := make(map[string][]target, len(paths))
	for i, p := range paths {
		var st syscall.Stat_t
		if syscall.Stat(p, &st) != nil {
			continue
		}
		b := filepath.Base(p)
		byBase[b] = append(byBase[b], target{uint64(st.Dev), st.Ino, i})
	}
	if len(byBase) == 0 {
		return out
	}
	pids, err := readNames("/proc")
	if err != nil {
		return out
	}
	for _, pid := range pids {
		n, err := strconv.Atoi(pid)
		if err != nil || n <= 0 {
			continue // not a process
		}
		fdDir := "/proc/" + pid + "/fd/"
		fds, err := readNames(fdDir)
		if err != nil {
			continue // gone, or not ours to inspect
		}
		for _, fd := range fds {
			link, err := os.Readlink(fdDir + fd)
			if err != nil || !strings.HasPrefix(link, "/") {
				continue // sockets, pipes, anonymous files
			}
			ts := byBase[path.Base(strings.TrimSuffix(link, " (deleted)"))]
			if len(ts) == 0 {
				continue
			}
			var st syscall.Stat_t
			if syscall.Stat(fdDir+fd, &st) != nil {
				continue
			}
			for _, t := range ts {
				if out[t.i] == 0 && t.dev == uint64(st.Dev) && t.ino == st.Ino && fdWritable("/proc/"+pid+"/fdinfo/"+fd) {
					out[t.i] = n
				}
			}
		}
	}
	return out
}

// readNames lists the names in a folder, unsorted.
func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// fdWritable reports whether the descriptor whose fdinfo file is at path
// was opened for writing.
func fdWritable(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	flags, ok := fdinfoFlags(b)
	return ok && flags&syscall.O_ACCMODE != syscall.O_RDONLY
}

// fdinfoFlags parses the octal "flags:" line of a /proc fdinfo file.
func fdinfoFlags(b []byte) (int64, bool) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("flags:"))
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(string(bytes.TrimSpace(rest)), 8, 64)
		return v, err == nil
	}
	return 0, false
}
