package maas_test

import (
	"context"
	"maps"
	"net/url"
	"testing"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/maas/maastest"
)

func TestPowerParametersReadBackWhatWasPut(t *testing.T) {
	f := maastest.New(t)
	id := f.AddMachine("node1")
	c := newClient(t, f, maastest.Key)
	ctx := context.Background()

	got, err := c.PowerParameters(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("a manual machine's parameters = %v, want none", got)
	}

	m, err := c.UpdateMachine(ctx, id, url.Values{
		"power_type":                        {"webhook"},
		"power_parameters_power_on_uri":     {"http://192.0.2.1:8080/v1/machines/node1/on"},
		"power_parameters_power_token":      {"tok"},
		"power_parameters_power_verify_ssl": {"n"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.PowerType != "webhook" {
		t.Errorf("power_type after the update = %q, want webhook", m.PowerType)
	}
	got, err = c.PowerParameters(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"power_on_uri": "http://192.0.2.1:8080/v1/machines/node1/on", "power_token": "tok", "power_verify_ssl": "n"}
	if !maps.Equal(got, want) {
		t.Errorf("read back %v, want %v", got, want)
	}

	if _, err := c.PowerParameters(ctx, "nosuch"); !maas.IsNotFound(err) {
		t.Errorf("an unknown machine: err = %v, want MAAS's 404", err)
	}
}
