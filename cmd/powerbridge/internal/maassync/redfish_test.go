package maassync_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas/maastest"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maassync"
)

const password = "pb-password-0123456789"

// The redfish power type: powerbridge's address, an auth.users account and
// the machine's name as node_id; a webhook machine and one pointed at
// another system are changed, one already right is not, and a second apply
// finds nothing to do. The password, old or new, is never printed.
func TestRedfishPlanApplyAndApplyAgain(t *testing.T) {
	f := maastest.New(t)
	node1 := f.AddMachine("node1")
	f.SetMachinePower(node1, "webhook", webhook("node1", token))
	bigboy := f.AddMachine("bigboy") // the right address and account, the first system's id
	f.SetMachinePower(bigboy, "redfish", map[string]string{
		"power_address": base, "power_user": "admin", "power_pass": "old-password-9876543210", "node_id": "node1",
	})
	target := maassync.Target{Base: base, Redfish: &maassync.Account{User: "admin", Password: password}}
	done := f.AddMachine("node2")
	f.SetMachinePower(done, "redfish", target.Params("node2"))

	c, ctx := client(t, f), context.Background()
	names := []string{"node1", "bigboy", "node2"}
	plan, err := maassync.MakePlan(ctx, c, names, target)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	plan.Print(&out, false)
	want := strings.Join([]string{
		"MAAS " + f.URL + "/MAAS/api/2.0/, powerbridge " + base,
		"  node1 (" + node1 + "): to change",
		"      power_type       webhook -> redfish",
		"      power_address    (unset) -> " + base,
		"      power_user       (unset) -> admin",
		"      power_pass       (unset) -> (the password, not shown)",
		"      node_id          (unset) -> node1",
		"  bigboy (" + bigboy + "): to change",
		"      power_pass       (set, a different one) -> (the password, not shown)",
		"      node_id          node1 -> bigboy",
		"  node2 (" + done + "): up to date",
		"2 machines to change, 1 up to date. Nothing has been changed: run with --apply to make these changes.",
		"",
	}, "\n")
	if out.String() != want {
		t.Errorf("plan printed:\n%s\nwant:\n%s", out.String(), want)
	}
	if err := maassync.Apply(ctx, c, plan, target); err != nil {
		t.Fatal(err)
	}
	for id, name := range map[string]string{node1: "node1", bigboy: "bigboy"} {
		pt, params := f.Machine(id)
		wantParams := target.Params(name)
		for k := range params {
			if strings.HasPrefix(k, "power_") && !strings.Contains("power_address power_user power_pass", k) {
				delete(params, k) // the fake keeps the webhook's old keys; MAAS drops them
			}
		}
		if pt != "redfish" || !maps.Equal(params, wantParams) {
			t.Errorf("%s after apply: %s %v; want redfish %v", name, pt, params, wantParams)
		}
		if params["node_id"] != name {
			t.Errorf("%s's node_id is %q", name, params["node_id"])
		}
	}
	if m := f.Mutations(); len(m) != 2 {
		t.Errorf("apply made %d changes, want 2 (node1, bigboy): %v", len(m), m)
	}
	for _, m := range f.Mutations() {
		if strings.Contains(m, "power_parameters_power_on_regex") {
			t.Errorf("a redfish update carries the webhook's regexes: %s", m)
		}
	}
	again, err := maassync.MakePlan(ctx, c, names, target)
	if err != nil {
		t.Fatal(err)
	}
	if n := again.ToChange(); n != 0 {
		t.Errorf("after apply, a new plan has %d machines to change: %+v", n, again.Machines)
	}
	out.Reset()
	plan.Print(&out, true)
	if strings.Contains(out.String(), password) || strings.Contains(out.String(), "old-password") {
		t.Errorf("a password is printed:\n%s", out.String())
	}
}
