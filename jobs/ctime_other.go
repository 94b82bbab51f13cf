//go:build !linux

package jobs

import (
	"os"
	"time"
)

// changeTime is zero: the size and modification time tell versions apart.
func changeTime(os.FileInfo) time.Time { return time.Time{} }
