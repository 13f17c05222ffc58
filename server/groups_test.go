package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// groupsFleet is the golden fleet with one group, rack-a (node1, node2):
// node1's actions succeed, node2's PDU cannot be read.
type groupsFleet struct{ *goldenFleet }

func (f groupsFleet) GroupAction(ctx context.Context, name string, a power.Action) (power.GroupResult, error) {
	if name != "rack-a" {
		return power.GroupResult{}, fmt.Errorf("%w %q", power.ErrUnknownGroup, name)
	}
	do := map[power.Action]func(context.Context, string) (power.Result, error){power.ActionOn: f.On, power.ActionOff: f.Off, power.ActionCycle: f.Cycle}[a]
	res, _ := do(ctx, "node1")
	return power.GroupResult{Group: name, Action: a, Duration: 1250 * time.Millisecond, Members: []power.GroupMember{
		{Machine: "node1", Result: res},
		{Machine: "node2", Err: errors.New("reading PDU rack2: no answer from 127.0.0.1:1161 within 500ms")},
	}}, nil
}

func (f groupsFleet) GroupStatus(ctx context.Context, name string) (power.GroupStatus, error) {
	if name != "rack-a" {
		return power.GroupStatus{}, fmt.Errorf("%w %q", power.ErrUnknownGroup, name)
	}
	st1, err1 := f.Status(ctx, "node1")
	st2, err2 := f.Status(ctx, "node2")
	st2.Machine = "node2"
	return power.GroupStatus{Group: name, Members: []power.GroupMemberStatus{{Status: st1, Err: err1}, {Status: st2, Err: err2}}}, nil
}

// PDUBudget gives rack1 a budget of 16 A, 1.75 A drawn.
func (f groupsFleet) PDUBudget(pdu string) (power.Budget, bool) {
	if pdu != "rack1" {
		return power.Budget{}, false
	}
	load := 1.75
	return power.Budget{MaxAmperes: 16, LoadAmperes: &load, ReservedAmperes: 0.5, Expected: map[int]float64{2: 0.5, 1: 1.25}}, true
}

// UnexpectedChanges tells of rack1/2 switched on at the PDU.
func (f groupsFleet) UnexpectedChanges(pdu string) []power.UnexpectedChange {
	if pdu != "rack1" {
		return nil
	}
	return []power.UnexpectedChange{{PDU: pdu, Outlet: 2, From: power.Off, To: power.On, At: time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)}}
}

// TestGroupAnswersGolden pins the group routes' answers, as
// TestRouteAnswersGolden does the others' (-update rewrites
// testdata/groups.golden): per-machine results, 502 when one failed, 400
// for an unknown group and for a fleet without groups; and a PDU's power
// budget and unexpected changes in /v1/pdus.
func TestGroupAnswersGolden(t *testing.T) {
	cfg := Config{
		Auth:          NewAuthenticator([]Credential{{Name: "maas", Token: token}}),
		StatusTimeout: 5 * time.Second,
		ActionTimeout: 5 * time.Second,
	}
	withGroups := New(groupsFleet{newGoldenFleet(t)}, cfg)
	without := New(newGoldenFleet(t), cfg)
	var got bytes.Buffer
	for _, rq := range []struct {
		method, path string
		noGroups     bool
	}{
		{method: "GET", path: "/v1/groups/rack-a"},
		{method: "POST", path: "/v1/groups/rack-a/on"},
		{method: "POST", path: "/v1/groups/rack-a/off"},
		{method: "POST", path: "/v1/groups/rack-a/cycle"},
		{method: "GET", path: "/v1/groups/nope"},
		{method: "POST", path: "/v1/groups/nope/on"},
		{method: "POST", path: "/v1/groups/rack-a/reboot"},
		{method: "GET", path: "/v1/groups/rack-a", noGroups: true},
		{method: "GET", path: "/v1/pdus"},
	} {
		h := withGroups
		if rq.noGroups {
			h = without
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, maasRequest(rq.method, rq.path))
		fmt.Fprintf(&got, "=== %s %s (groups=%v)\n%d %s\n%s", rq.method, rq.path, !rq.noGroups, w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	golden := filepath.Join("testdata", "groups.golden")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading %s (run with -update to write it): %v", golden, err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("the answers differ from %s (run with -update if the change is meant):\n--- got\n%s--- want\n%s", golden, got.Bytes(), want)
	}
}

// slowGroups is a fleet whose group actions take longer than the server's
// write timeout, as a group of machines each taking its action does.
type slowGroups struct {
	*goldenFleet
	takes time.Duration
}

func (f slowGroups) GroupAction(ctx context.Context, name string, a power.Action) (power.GroupResult, error) {
	<-time.After(f.takes)
	return power.GroupResult{Group: name, Action: a, Members: []power.GroupMember{{Machine: "node1", Result: power.Result{Machine: "node1", Action: a, State: power.On}}}}, nil
}

func (f slowGroups) GroupStatus(ctx context.Context, name string) (power.GroupStatus, error) {
	return power.GroupStatus{Group: name}, nil
}

// A group action's answer is written however long past the server's write
// timeout (one action's) its members took.
func TestGroupAnswerOutlastsTheWriteTimeout(t *testing.T) {
	h := New(slowGroups{newGoldenFleet(t), 600 * time.Millisecond}, Config{
		Auth:          NewAuthenticator([]Credential{{Name: "maas", Token: token}}),
		StatusTimeout: time.Second,
		ActionTimeout: time.Second,
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/groups/rack-a/on", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("the answer was cut off: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"machine":"node1","ok":true`) {
		t.Errorf("answer %d %s, want 200 with node1's outcome", resp.StatusCode, body)
	}
}
