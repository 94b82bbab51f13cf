//go:build !unix

package cli

import "os"

// ttyWidth returns 0: the width of a terminal is not asked for here.
func ttyWidth(*os.File) int { return 0 }
