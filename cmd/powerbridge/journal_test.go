package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/power"
)

// The journal survives the process: what Begin wrote and End did not clear
// is what the next openJournal finds, and a file it cannot read is an
// error rather than an empty journal.
func TestJournalFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	j, pending, err := openJournal(dir)
	if err != nil || len(pending) != 0 {
		t.Fatalf("a new journal: %v, %v", pending, err)
	}
	two := []power.OutletRef{{PDU: "rack1", Outlet: 3}, {PDU: "rack2", Outlet: 1}}
	for _, step := range []error{
		j.Begin("bigboy", two, power.Off),
		j.Begin("other", two[:1], power.On),
		j.End("other"),
		j.End("never-begun"),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}

	_, pending, err = openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Machine != "bigboy" || pending[0].To != power.Off || len(pending[0].Outlets) != 2 || pending[0].Outlets[1] != two[1] {
		t.Errorf("after a restart: %+v, want bigboy off on rack1/3 and rack2/1", pending)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != journalName {
		t.Errorf("the state directory holds %v, want only %s", entries, journalName)
	}

	if err := os.WriteFile(filepath.Join(dir, journalName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openJournal(dir); err == nil || !strings.Contains(err.Error(), journalName) {
		t.Errorf("a torn journal: %v, want an error naming the file", err)
	}
}
