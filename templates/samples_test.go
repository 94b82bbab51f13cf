package templates

import (
	"encoding/csv"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite generated samples and golden files")

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
