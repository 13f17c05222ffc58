package statedir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDetectionsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), DetectionsName)
	d := OpenDetections(path)
	if err := d.Store("apc 10.0.0.5:161 v1 auto 1234", []byte(`{"Dialect":"rpdu"}`)); err != nil {
		t.Fatal(err)
	}
	again := OpenDetections(path)
	if again.Corrupt != nil {
		t.Fatal(again.Corrupt)
	}
	got, ok := again.Load("apc 10.0.0.5:161 v1 auto 1234")
	if !ok || string(got) != `{"Dialect":"rpdu"}` {
		t.Errorf("reopened: %q %v, want the stored detection", got, ok)
	}
	if _, ok := again.Load("apc 10.0.0.6:161 v1 auto 1234"); ok {
		t.Error("another PDU's key found a detection")
	}
}

func TestCorruptDetectionsAreIgnoredAndRewritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DetectionsName)
	if err := os.WriteFile(path, []byte("{half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The state directory opens: a cache is never fatal.
	sd, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if sd.Detections.Corrupt == nil {
		t.Fatal("a corrupt detections file was not reported")
	}
	if _, ok := sd.Detections.Load("k"); ok {
		t.Error("a corrupt file gave a detection")
	}
	if err := sd.Detections.Store("k", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if d := OpenDetections(path); d.Corrupt != nil {
		t.Errorf("the rewritten file is corrupt too: %v", d.Corrupt)
	}
}
