package maassync_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas/maastest"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maassync"
)

const (
	base     = "http://192.168.23.1:8080" // written into MAAS only; nothing calls it
	token    = "pb-token-0123456789abcdef"
	oldToken = "old-token-fedcba9876543210"
)

func client(t *testing.T, f *maastest.Server) *maas.Client {
	t.Helper()
	k, err := maas.ParseAPIKey(maastest.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := maas.New(f.MAASURL(), k, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func webhook(name, tok string) map[string]string {
	p := maassync.Target{Base: base, Token: tok}.Params(name)
	p[maassync.OnRegex], p[maassync.OffRegex] = maassync.DefaultOnRegex, maassync.DefaultOffRegex
	return p
}

// The whole cycle: a plan lists every difference and changes nothing; apply
// changes exactly the machines that differ; a second plan and apply find
// nothing to do; machines on one side only are listed and left alone.
func TestPlanApplyAndApplyAgain(t *testing.T) {
	f := maastest.New(t)
	node1 := f.AddMachine("node1") // new: manual power
	bigboy := f.AddMachine("bigboy")
	f.SetMachinePower(bigboy, "webhook", map[string]string{ // pointed at an old address, with an old token
		"power_on_uri":    "http://10.0.0.9:8080/v1/machines/bigboy/on",
		"power_off_uri":   "http://10.0.0.9:8080/v1/machines/bigboy/off",
		"power_query_uri": base + "/v1/machines/bigboy/status",
		"power_token":     oldToken,
	})
	done := f.AddMachine("node2") // already right
	f.SetMachinePower(done, "webhook", webhook("node2", token))
	stranger := f.AddMachine("stranger") // not in the config
	f.SetMachinePower(stranger, "ipmi", map[string]string{"power_address": "10.0.0.5", "power_pass": "ipmi-secret"})

	c := client(t, f)
	ctx := context.Background()
	target := maassync.Target{Base: base, Token: token}
	names := []string{"node1", "bigboy", "node2", "ghost"}

	plan, err := maassync.MakePlan(ctx, c, names, target)
	if err != nil {
		t.Fatal(err)
	}
	if m := f.Mutations(); len(m) != 0 {
		t.Fatalf("a plan changed MAAS: %v", m)
	}
	var out strings.Builder
	plan.Print(&out, false)
	want := strings.Join([]string{
		"MAAS " + f.URL + "/MAAS/api/2.0/, powerbridge " + base,
		"  node1 (" + node1 + "): to change",
		"      power_type       manual -> webhook",
		"      power_on_uri     (unset) -> " + base + "/v1/machines/node1/on",
		"      power_off_uri    (unset) -> " + base + "/v1/machines/node1/off",
		"      power_query_uri  (unset) -> " + base + "/v1/machines/node1/status",
		"      power_token      (unset) -> (the token, not shown)",
		"  bigboy (" + bigboy + "): to change",
		"      power_on_uri     http://10.0.0.9:8080/v1/machines/bigboy/on -> " + base + "/v1/machines/bigboy/on",
		"      power_off_uri    http://10.0.0.9:8080/v1/machines/bigboy/off -> " + base + "/v1/machines/bigboy/off",
		"      power_token      (set, a different one) -> (the token, not shown)",
		"  node2 (" + done + "): up to date",
		"Only in powerbridge's config, not in MAAS (enlist them, then run this again): ghost",
		"Only in MAAS, not in powerbridge's config (left alone): stranger (" + stranger + ", power type ipmi)",
		"2 machines to change, 1 up to date. Nothing has been changed: run with --apply to make these changes.",
		"",
	}, "\n")
	if out.String() != want {
		t.Errorf("plan printed:\n%s\nwant:\n%s", out.String(), want)
	}

	if err := maassync.Apply(ctx, c, plan, target); err != nil {
		t.Fatal(err)
	}
	muts := f.Mutations()
	if len(muts) != 2 || !strings.HasPrefix(muts[0], "PUT machines/"+node1+"/ ") || !strings.HasPrefix(muts[1], "PUT machines/"+bigboy+"/ ") {
		t.Errorf("apply made %d changes %v, want one PUT of %s and one of %s", len(muts), muts, node1, bigboy)
	}
	for _, id := range []string{node1, bigboy} {
		pt, params := f.Machine(id)
		name := map[string]string{node1: "node1", bigboy: "bigboy"}[id]
		if pt != "webhook" || !maps.Equal(params, webhook(name, token)) {
			t.Errorf("%s after apply: power type %s, parameters %v; want webhook with %v", name, pt, params, webhook(name, token))
		}
	}
	if pt, params := f.Machine(stranger); pt != "ipmi" || params["power_pass"] != "ipmi-secret" {
		t.Errorf("the machine only MAAS knows was changed: %s %v", pt, params)
	}

	again, err := maassync.MakePlan(ctx, c, names, target)
	if err != nil {
		t.Fatal(err)
	}
	if n := again.ToChange(); n != 0 {
		t.Errorf("after apply, a new plan has %d machines to change: %+v", n, again.Machines)
	}
	if err := maassync.Apply(ctx, c, again, target); err != nil {
		t.Fatal(err)
	}
	if m := f.Mutations(); len(m) != 2 {
		t.Errorf("a second apply changed MAAS again: %v", m[2:])
	}
	out.Reset()
	again.Print(&out, true)
	if !strings.Contains(out.String(), "\nNothing to do: 3 machines up to date.\n") {
		t.Errorf("second run printed:\n%s\nwant it to say there is nothing to do", out.String())
	}
	if !slices.Equal(again.OnlyInConfig, []string{"ghost"}) || len(again.OnlyInMAAS) != 1 || again.OnlyInMAAS[0].Hostname != "stranger" {
		t.Errorf("one-side machines: config only %v, MAAS only %v; want [ghost] and [stranger]", again.OnlyInConfig, again.OnlyInMAAS)
	}
}

// Neither the token being set nor the one MAAS had is ever printed, and
// credentials in an old URI are masked.
func TestPrintShowsNoSecret(t *testing.T) {
	f := maastest.New(t)
	id := f.AddMachine("node1")
	f.SetMachinePower(id, "webhook", map[string]string{
		"power_on_uri":    "http://admin:hunter2@10.0.0.9/on?key=querysecret",
		"power_off_uri":   base + "/v1/machines/node1/off",
		"power_query_uri": base + "/v1/machines/node1/status",
		"power_token":     oldToken,
	})
	plan, err := maassync.MakePlan(context.Background(), client(t, f), []string{"node1"}, maassync.Target{Base: base, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	plan.Print(&out, false)
	for _, secret := range []string{token, oldToken, "hunter2", "querysecret"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("the plan shows %q:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), "http://xxxxx@10.0.0.9/on?key=xxxxx -> ") {
		t.Errorf("the old URI is not shown masked:\n%s", out.String())
	}
}

// A regex changed from MAAS's default may match neither of powerbridge's
// status words, so it is put back; an absent one is MAAS's default.
func TestChangedRegexIsPutBack(t *testing.T) {
	f := maastest.New(t)
	id := f.AddMachine("node1")
	params := webhook("node1", token)
	delete(params, maassync.OffRegex)
	params[maassync.OnRegex] = "power.*on"
	f.SetMachinePower(id, "webhook", params)
	plan, err := maassync.MakePlan(context.Background(), client(t, f), []string{"node1"}, maassync.Target{Base: base, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	want := []maassync.Change{{Param: maassync.OnRegex, Old: "power.*on", New: maassync.DefaultOnRegex}}
	if got := plan.Machines[0].Changes; !slices.Equal(got, want) {
		t.Errorf("changes = %+v, want %+v", got, want)
	}
}

// A machine is found by its FQDN too, when the config names it so.
func TestMachineFoundByFQDN(t *testing.T) {
	f := maastest.New(t)
	id := f.AddMachine("node1")
	plan, err := maassync.MakePlan(context.Background(), client(t, f), []string{"node1.maas"}, maassync.Target{Base: base, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Machines) != 1 || plan.Machines[0].SystemID != id || len(plan.OnlyInMAAS) != 0 {
		t.Errorf("plan = %+v, want node1.maas matched to %s", plan, id)
	}
}

func TestCheckBaseURL(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "http://192.168.23.1:8080", want: "http://192.168.23.1:8080"},
		{in: "http://192.168.23.1:8080/", want: "http://192.168.23.1:8080"},
		{in: "https://maas-host.example:8443/powerbridge/", want: "https://maas-host.example:8443/powerbridge"},
		{in: "http://[2001:db8::1]:8080", want: "http://[2001:db8::1]:8080"},
		{in: "http://localhost:8080", err: "loopback address: MAAS picks the rack controller"},
		{in: "http://LocalHost:8080", err: "loopback address"},
		{in: "http://127.0.0.1:8080", err: "loopback address"},
		{in: "http://127.1.2.3:8080", err: "loopback address"},
		{in: "http://[::1]:8080", err: "loopback address"},
		{in: "http://[::ffff:127.0.0.1]:8080", err: "loopback address"},
		{in: "http://0.0.0.0:8080", err: "is a listen address"},
		{in: "http://[::]:8080", err: "is a listen address"},
		{in: "192.168.23.1:8080", err: "want http://ADDRESS:PORT"},
		{in: "ftp://192.168.23.1", err: "want http://ADDRESS:PORT"},
		{in: "http://user:pw@192.168.23.1:8080", err: "credentials go in the token"},
		{in: "http://192.168.23.1:8080/?x=1", err: "want only scheme"},
		{in: "http://192.168.23.1:99999", err: "bad port"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := maassync.CheckBaseURL(tc.in)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("error %v, want %s", err, tc.want)
			case tc.err == "" && got != tc.want:
				t.Errorf("= %q, want %q", got, tc.want)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("= %q, %v; want an error containing %q", got, err, tc.err)
			case err != nil && strings.Contains(err.Error(), "pw@"):
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
