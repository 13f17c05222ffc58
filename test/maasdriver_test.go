package test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maasDriver does what MAAS does to power a machine through the webhook
// power type (reference/maas-webhook.md), with its waits scaled down:
//
//   - one attempt is MAAS's PowerDriver.perform_power: for each wait of 1,
//     2, 2, 4, 6, 8 and 12 s, POST; if that failed, wait and POST again;
//     else wait, query, and stop once the state is the one asked for. At
//     most 7 POSTs and 7 queries; a 404 counts as success, as in MAAS.
//   - MAAS 3.5+ (Temporal) makes up to 3 attempts, and after a good one
//     queries once more: the final state must be exactly on or off.
//
// It answers nothing slower than a MAAS would wait for (no read timeout in
// MAAS; here ctx), and records every call it made.
type maasDriver struct {
	url, token string
	// scale multiplies MAAS's waits: 0.05 makes 1 s 50 ms.
	scale float64

	mu    sync.Mutex
	calls []maasAttemptCall
}

// maasAttemptCall is one request the driver made and how it went.
type maasAttemptCall struct {
	Method, Path string
	Code         int // 0: no answer (transport error)
	Body         string
	Took         time.Duration
}

// maasWaits are perform_power's waits between tries, in seconds.
var maasWaits = []float64{1, 2, 2, 4, 6, 8, 12}

// maasAttempts is how often MAAS 3.5+ tries a power action.
const maasAttempts = 3

// errMAASNeverTransitioned is MAAS's "BMC never transitioned from X to Y".
var errMAASNeverTransitioned = errors.New("BMC never transitioned")

func newMAASDriver(url, token string, scale float64) *maasDriver {
	return &maasDriver{url: url, token: token, scale: scale}
}

// power asks for machine to be "on" or "off" the way MAAS 3.5+ does, and
// returns the number of attempts used, or the last attempt's error.
func (d *maasDriver) power(ctx context.Context, machine, want string) (int, error) {
	var err error
	for attempt := 1; attempt <= maasAttempts; attempt++ {
		if err = d.performPower(ctx, machine, want); err == nil {
			// The command queries once more at the end.
			state, qerr := d.query(ctx, machine)
			if qerr == nil && state == want {
				return attempt, nil
			}
			err = fmt.Errorf("final query: %q, %v", state, qerr)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return maasAttempts, err
}

// performPower is one attempt: MAAS's PowerDriver.perform_power.
func (d *maasDriver) performPower(ctx context.Context, machine, want string) error {
	var last error
	for _, secs := range maasWaits {
		code, body, err := d.call(ctx, http.MethodPost, "/v1/machines/"+machine+"/"+want)
		if err == nil && code >= 400 && code != 404 {
			err = fmt.Errorf("request failed with response status code: %d: %s", code, strings.TrimSpace(body))
		}
		if err != nil {
			last = err
			if !d.pause(ctx, secs) {
				return ctx.Err()
			}
			continue
		}
		if !d.pause(ctx, secs) {
			return ctx.Err()
		}
		state, err := d.query(ctx, machine)
		if err != nil {
			last = err
			continue
		}
		if state == want {
			return nil
		}
	}
	if last != nil {
		return last
	}
	return fmt.Errorf("%w to %s", errMAASNeverTransitioned, want)
}

// query is MAAS's power_query: the body searched with the default
// power_on_regex first, then power_off_regex.
func (d *maasDriver) query(ctx context.Context, machine string) (string, error) {
	code, body, err := d.call(ctx, http.MethodGet, "/v1/machines/"+machine+"/status")
	switch {
	case err != nil:
		return "", err
	case code >= 400 && code != 404:
		return "", fmt.Errorf("request failed with response status code: %d", code)
	case onRegex.MatchString(body):
		return "on", nil
	case offRegex.MatchString(body):
		return "off", nil
	}
	return "unknown", nil
}

// pause is one of MAAS's waits: the pace MAAS keeps, not a way to wait for
// anything in the bridge.
func (d *maasDriver) pause(ctx context.Context, secs float64) bool {
	t := time.NewTimer(time.Duration(secs * d.scale * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// call sends one request shaped as MAAS's webhook driver sends it.
func (d *maasDriver) call(ctx context.Context, method, path string) (int, string, error) {
	var body io.Reader
	if method == http.MethodPost {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, method, d.url+path, body)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("User-Agent", "MAAS 3.5.4")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Connection", "close")
	req.Header.Set("Authorization", "Bearer "+d.token)
	start := time.Now()
	code, text := 0, ""
	resp, err := maasClient.Do(req)
	if err == nil {
		data, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		code, text, err = resp.StatusCode, string(data), rerr
	}
	d.mu.Lock()
	d.calls = append(d.calls, maasAttemptCall{Method: method, Path: path, Code: code, Body: text, Took: time.Since(start)})
	d.mu.Unlock()
	return code, text, err
}

// made returns the calls made so far.
func (d *maasDriver) made() []maasAttemptCall {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]maasAttemptCall(nil), d.calls...)
}

// summary lists the calls made, e.g. "POST on 502, POST on 200, GET 200".
func (d *maasDriver) summary() string {
	var parts []string
	for _, c := range d.made() {
		what := c.Method
		if c.Method == http.MethodPost {
			what += " " + c.Path[strings.LastIndexByte(c.Path, '/')+1:]
		}
		parts = append(parts, fmt.Sprintf("%s %d", what, c.Code))
	}
	return strings.Join(parts, ", ")
}
