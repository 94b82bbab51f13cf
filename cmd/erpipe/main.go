// Command erpipe turns files dropped into watched folders into DMF data
// packages and regulatory e-documents. Run "erpipe --help" for the commands.
package main

import (
	"os"

	"github.com/erpipe/erpipe/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
