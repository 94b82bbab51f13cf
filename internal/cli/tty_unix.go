//go:build unix

package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// ttyWidth returns the width of the terminal f, or 0 when it can't tell.
func ttyWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
