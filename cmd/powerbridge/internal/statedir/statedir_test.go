package statedir

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// The journal survives the process: what Begin wrote and End did not clear
// is what the next Open finds, shutdown flag and all, and a file it cannot
// read is an error rather than an empty journal.
func TestJournalSurvivesARestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	d, err := Open(dir)
	if err != nil || len(d.Interrupted) != 0 {
		t.Fatalf("a new state directory: %v, %v", d, err)
	}
	two := []power.OutletRef{{PDU: "rack1", Outlet: 3}, {PDU: "rack-2/b", Outlet: 1}}
	j := d.Journal
	for _, step := range []error{
		j.Begin("bigboy", two, power.Off, true),
		j.Begin("other", two[:1], power.On, false),
		j.Begin("node1", two[:1], power.Off, true),
		j.End("other"),
		j.End("never-begun"),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}

	d, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []power.Interrupted{
		{Machine: "bigboy", Outlets: two, To: power.Off, Shutdown: true},
		{Machine: "node1", Outlets: two[:1], To: power.Off, Shutdown: true},
	}
	if !slices.EqualFunc(d.Interrupted, want, func(a, b power.Interrupted) bool {
		return a.Machine == b.Machine && a.To == b.To && a.Shutdown == b.Shutdown && slices.Equal(a.Outlets, b.Outlets)
	}) {
		t.Errorf("after a restart: %+v, want %+v", d.Interrupted, want)
	}
	// The record the restart finishes is removed by the End of that action.
	if err := d.Journal.End("bigboy"); err != nil {
		t.Fatal(err)
	}
	if d, err = Open(dir); err != nil || len(d.Interrupted) != 1 || d.Interrupted[0].Machine != "node1" {
		t.Errorf("after End: %+v, %v; want node1 alone", d.Interrupted, err)
	}

	if err := os.WriteFile(filepath.Join(dir, JournalName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), JournalName) {
		t.Errorf("a torn journal: %v, want an error naming the file", err)
	}
	if err := os.WriteFile(filepath.Join(dir, JournalName), []byte(`{"switching":{"m":{"to":"off","outlets":["rack1"]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), `"rack1" is not an outlet`) {
		t.Errorf("a journal naming no outlet: %v", err)
	}
}

// Off times survive the process, per PDU, to the nanosecond of wall-clock
// time (the monotonic reading does not survive and is dropped).
func TestOffTimesSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.OffTimes.Load("rack1"); len(got) != 0 {
		t.Fatalf("a new state directory has off times %v", got)
	}
	t1 := time.Now()
	t2 := t1.Add(1500 * time.Millisecond)
	for _, step := range []error{
		d.OffTimes.Record(power.OutletRef{PDU: "rack1", Outlet: 3}, t1),
		d.OffTimes.Record(power.OutletRef{PDU: "rack2", Outlet: 3}, t1),
		d.OffTimes.Record(power.OutletRef{PDU: "rack1", Outlet: 3}, t2),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	d, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := d.OffTimes.Load("rack1")
	if len(got) != 1 || !got[3].Equal(t2) {
		t.Errorf("rack1 after a restart: %v, want outlet 3 at %v", got, t2)
	}
	if got := d.OffTimes.Load("rack2"); len(got) != 1 || !got[3].Equal(t1) {
		t.Errorf("rack2 after a restart: %v, want outlet 3 at %v", got, t1)
	}

	if err := os.WriteFile(filepath.Join(dir, OffTimesName), []byte(`{"rack1/x": "2026-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), OffTimesName) || !strings.Contains(err.Error(), `"rack1/x"`) {
		t.Errorf("a file naming no outlet: %v, want an error naming the file and the key", err)
	}
}

// A state directory that cannot be made is an error.
func TestOpenFailsOnAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(f); err == nil {
		t.Error("Open of a regular file succeeded")
	}
}
