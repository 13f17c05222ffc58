package plug

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/powerbridge/powerbridge/power"
)

// authStyle is how a plug family takes its credentials.
type authStyle int

const (
	authNone   authStyle = iota
	authBasic            // Shelly Gen1
	authDigest           // Shelly Gen2+: RFC 7616, SHA-256
	authQuery            // Tasmota: user= and password= parameters
)

// maxAnswer bounds what is read of an answer; a plug's largest (Tasmota's
// Status 0) is a few kilobytes.
const maxAnswer = 256 << 10

// digestState is the last digest challenge, answered again with a growing
// nonce count so that a request needs no extra round trip while the nonce
// lasts.
type digestState struct {
	c  *challenge
	nc uint32
}

// errAuth is the cause of a 401 or 403, spelt for the person who set the
// plug's credentials.
var errAuth = errors.New("the plug refused the credentials (wrong http.user or http.password, or none set while the plug requires them)")

// call sends one request and returns the body of its 200 answer. query holds
// no credentials: they are added here, and never appear in an error.
//
// A 401 to a digest request is answered once with the new challenge: a 401
// means the plug carried nothing out, so sending the request again cannot
// switch twice.
func (d *Driver) call(ctx context.Context, method, path string, query url.Values, body []byte, auth authStyle) ([]byte, error) {
	what := describe(method, path, query)
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	if auth == authQuery && d.cfg.Password != "" {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("user", d.cfg.User)
		q.Set("password", d.cfg.Password)
		query = q
	}
	resp, err := d.send(ctx, method, path, query, body, auth)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && auth == authDigest && d.cfg.Password != "" {
		ch, cerr := pickChallenge(resp.Header.Values("WWW-Authenticate"))
		drain(resp)
		if cerr != nil {
			return nil, fmt.Errorf("%s: %w: %w", what, cerr, power.ErrRefused)
		}
		d.digest = digestState{c: &ch}
		resp, err = d.send(ctx, method, path, query, body, auth)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, transportError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	switch {
	case err != nil:
		// The plug answered, so the request arrived: the outcome is open.
		return nil, fmt.Errorf("%s: reading the answer (HTTP %d): %v", what, resp.StatusCode, cleanError(err))
	case resp.StatusCode == http.StatusOK:
		return b, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%s: HTTP %d: %w: %w", what, resp.StatusCode, errAuth, power.ErrRefused)
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return nil, fmt.Errorf("%s: HTTP %d %s: %w", what, resp.StatusCode, snippet(b), power.ErrRefused)
	}
	return nil, fmt.Errorf("%s: HTTP %d %s", what, resp.StatusCode, snippet(b))
}

// send makes and sends one request, with the credentials of auth.
func (d *Driver) send(ctx context.Context, method, path string, query url.Values, body []byte, auth authStyle) (*http.Response, error) {
	u := *d.base
	u.Path = path
	// Tasmota reads %20 as the space between a command and its value.
	u.RawQuery = strings.ReplaceAll(query.Encode(), "+", "%20")
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case auth == authBasic && d.cfg.Password != "":
		req.SetBasicAuth(d.cfg.User, d.cfg.Password)
	case auth == authDigest && d.digest.c != nil:
		d.digest.nc++
		r, err := d.digest.c.answer(d.cfg.User, d.cfg.Password, method, u.RequestURI(), d.digest.nc, newCnonce())
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", r.header())
	}
	return d.client.Do(req)
}

// transportError is a request that got no answer: it may or may not have
// reached the plug. The URL is left out: Tasmota's carries the password.
// The cause stays wrapped, so that a timeout is still seen as one (the
// metrics count timeouts apart).
func transportError(err error) error {
	return fmt.Errorf("%w: %w", cleanError(err), power.ErrNoAnswer)
}

// cleanError strips the URL net/http puts into its errors.
func cleanError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// describe names a request for errors, without credentials.
func describe(method, path string, query url.Values) string {
	if c := query.Get("cmnd"); c != "" {
		return fmt.Sprintf("%s %s %q", method, path, c)
	}
	if len(query) > 0 {
		return method + " " + path + "?" + query.Encode()
	}
	return method + " " + path
}

// snippet is the start of an answer's body, for an error.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return fmt.Sprintf("%q", s)
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
}
