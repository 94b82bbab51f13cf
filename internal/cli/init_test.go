package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/schedule"
	"github.com/erpipe/erpipe/workspace"
)

// TestExampleSchedule checks that the schedule erpipe init writes, commented
// out, is a valid schedule once the # in front of its lines is removed.
func TestExampleSchedule(t *testing.T) {
	_, block, ok := strings.Cut(exampleConfig, "\n#schedules:\n")
	if !ok {
		t.Fatal("the example configuration has no commented schedules: section")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(block, "\n"), "\n") {
		if !strings.HasPrefix(l, "#") {
			t.Fatalf("line %q of the example schedule is not commented out", l)
		}
		lines = append(lines, strings.TrimPrefix(l, "#"))
	}
	config := strings.Replace(exampleConfig, "\n#schedules:\n"+block, "\nschedules:\n"+strings.Join(lines, "\n")+"\n", 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, workspace.ConfigFile), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := schedule.Load(ws)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "saft-monthly" || list[0].Template.Name != "saft-no" || string(list[0].Rule) != "previous-month" {
		t.Fatalf("the example schedule loads as %+v", list)
	}
	declared := map[string]bool{}
	for _, p := range list[0].Template.Parameters() {
		declared[p.Name] = true
	}
	for _, p := range []string{schedule.ParamStart, schedule.ParamEnd, schedule.ParamName} {
		if !declared[p] {
			t.Errorf("saft-no does not declare %s, which the schedule sets", p)
		}
	}
}
