package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// maasClient makes requests the way MAAS's webhook driver does: a new
// connection for each.
var maasClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// QueryStatus asks powerbridge at base for machine's status as MAAS does
// (GET, Accept: application/json, Connection: close, a bearer token) and
// returns the answer's body; an answer other than 200 is an error.
func QueryStatus(ctx context.Context, base, token, machine string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/machines/"+machine+"/status", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", "MAAS 3.5.0")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Close = true
	resp, err := maasClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status of %s: %d %s", machine, resp.StatusCode, body)
	}
	return string(body), nil
}

// Post sends MAAS's power POST (empty body) for machine: action is "on" or
// "off".
func Post(ctx context.Context, client *http.Client, base, token, machine, action string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/machines/"+machine+"/"+action, http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", action, machine, resp.StatusCode, body)
	}
	return nil
}

// Burst sends one status query for each of machines at once and waits for
// every answer.
func Burst(ctx context.Context, base, token string, machines []string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(machines))
	for i, m := range machines {
		wg.Go(func() { _, errs[i] = QueryStatus(ctx, base, token, m) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
