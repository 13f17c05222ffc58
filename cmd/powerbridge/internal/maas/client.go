// Package maas is a client for the MAAS REST API (version 2.0): requests
// signed with OAuth 1.0 PLAINTEXT, form-encoded bodies, JSON answers, and
// MAAS's error answers turned into Go errors that are safe to print.
//
// It knows MAAS's resources and the traps of its API, and nothing of what
// powerbridge does with them: the gateway helper and the machine power
// settings both build on the generic Get / Post / Put and the typed helpers
// in resources.go.
//
// The API key's secret never leaves this package except in the Authorization
// header: an APIKey prints as "consumer:token:<secret>", and error bodies are
// scrubbed of it, because MAAS answers a bad PLAINTEXT signature by echoing
// the real token secret ("Expected signature base string: &<secret>").
package maas

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// APIKey is a MAAS API key, "consumer_key:token_key:token_secret" as the MAAS
// UI and `maas apikey` show it. It prints without its secret.
type APIKey struct {
	consumer, token, secret string
}

// ParseAPIKey parses a key as MAAS shows it. Its errors never contain the key.
func ParseAPIKey(s string) (APIKey, error) {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return APIKey{}, fmt.Errorf("a MAAS API key is consumer_key:token_key:token_secret (three parts separated by ':'); this one has %d part(s)", len(parts))
	}
	for i, name := range []string{"consumer key", "token key", "token secret"} {
		if parts[i] == "" {
			return APIKey{}, fmt.Errorf("the MAAS API key's %s is empty", name)
		}
		if strings.ContainsAny(parts[i], " \t\r\n\"") {
			return APIKey{}, fmt.Errorf("the MAAS API key's %s contains a space or a quote", name)
		}
	}
	return APIKey{consumer: parts[0], token: parts[1], secret: parts[2]}, nil
}

// String shows the key's public parts only.
func (k APIKey) String() string { return k.consumer + ":" + k.token + ":<secret>" }

// GoString keeps %#v from printing the secret field.
func (k APIKey) GoString() string { return "maas.APIKey(" + k.String() + ")" }

// Consumer returns the consumer key, which is not secret.
func (k APIKey) Consumer() string { return k.consumer }

// Client talks to one MAAS region. It is safe for concurrent use.
type Client struct {
	base *url.URL // ends in /api/2.0/
	key  APIKey
	hc   *http.Client
	// Now is the clock the OAuth timestamp is read from; MAAS refuses a
	// timestamp more than five minutes away from its own clock.
	Now func() time.Time
}

// DefaultTimeout bounds one request when the caller's context has no deadline.
const DefaultTimeout = 30 * time.Second

// New returns a client for the MAAS at rawURL, which may be the UI's address
// ("http://host:5240/MAAS/") or the API's ("http://host:5240/MAAS/api/2.0/").
// hc may be nil.
func New(rawURL string, key APIKey, hc *http.Client) (*Client, error) {
	u, err := BaseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if key.secret == "" {
		return nil, errors.New("maas: no API key")
	}
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{base: u, key: key, hc: hc, Now: time.Now}, nil
}

// BaseURL turns a MAAS address into the API's base URL, ending in /api/2.0/.
func BaseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return nil, fmt.Errorf("MAAS URL %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("MAAS URL %q: want http://HOST:5240/MAAS/", rawURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("MAAS URL %q: want only scheme, host, port and path", rawURL)
	}
	p := strings.TrimRight(u.Path, "/")
	switch {
	case p == "":
		p = "/MAAS/api/2.0"
	case strings.HasSuffix(p, "/api/2.0"):
	default:
		p += "/api/2.0"
	}
	u.Path = p + "/"
	u.RawPath = ""
	return u, nil
}

// URL returns the API's base URL, for messages.
func (c *Client) URL() string { return c.base.String() }

// Get reads path (relative to the API base, e.g. "subnets/" or
// "maas/?op=get_config") with extra query parameters, decoding the answer
// into out (see Do).
func (c *Client) Get(ctx context.Context, path string, query url.Values, out any) error {
	return c.Do(ctx, http.MethodGet, path, query, nil, out)
}

// Post sends form to path, e.g. Post(ctx, "maas/?op=set_config", form, nil).
func (c *Client) Post(ctx context.Context, path string, form url.Values, out any) error {
	return c.Do(ctx, http.MethodPost, path, nil, form, out)
}

// Put sends form to path. MAAS leaves fields the form omits unchanged.
func (c *Client) Put(ctx context.Context, path string, form url.Values, out any) error {
	return c.Do(ctx, http.MethodPut, path, nil, form, out)
}

// Do sends one signed request. path may carry a query ("machines/?op=..."),
// query adds to it, and form (for POST and PUT) is sent urlencoded. out is
// nil (the answer is dropped), a *[]byte (the raw body) or anything
// encoding/json decodes into. Every request carries a fresh nonce, so a
// caller may retry a failed call simply by calling again.
func (c *Client) Do(ctx context.Context, method, path string, query, form url.Values, out any) error {
	u, err := c.resolve(path, query)
	if err != nil {
		return err
	}
	what := method + " " + strings.TrimPrefix(u.Path, c.base.Path)
	if op := u.Query().Get("op"); op != "" {
		what += "?op=" + op
	}

	if _, ok := ctx.Deadline(); !ok && c.hc.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("MAAS %s: %w", what, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	auth, err := c.authorization()
	if err != nil {
		return fmt.Errorf("MAAS %s: %w", what, err)
	}
	req.Header.Set("Authorization", auth)

	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("MAAS %s: %w", what, c.scrubErr(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("MAAS %s: reading the answer: %w", what, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.apiError(what, resp, data)
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		return fmt.Errorf("MAAS %s: the answer (%s) is not the JSON expected: %v", what, ct, err)
	}
	return nil
}

// resolve is the URL of path, relative to the API, with query added.
func (c *Client) resolve(path string, query url.Values) (*url.URL, error) {
	ref, err := url.Parse(path)
	if err != nil || ref.IsAbs() || strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("maas: %q is not a path relative to the API", path)
	}
	// MAAS's URL patterns all end in a slash and it answers 404, not a
	// redirect, to a path without one.
	if !strings.HasSuffix(ref.Path, "/") {
		ref.Path += "/"
	}
	u := c.base.ResolveReference(ref)
	q := u.Query()
	for k, vs := range query {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode() // sorted by key: stable request logs
	return u, nil
}

// authorization builds the OAuth 1.0 PLAINTEXT header MAAS expects. The
// signature is the consumer secret (always empty for MAAS) and the token
// secret joined by '&'. MAAS records each nonce before it checks the
// signature, so a nonce is never reused, not even for a retry.
func (c *Client) authorization() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making an OAuth nonce: %w", err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	fields := []struct{ k, v string }{
		{"oauth_version", "1.0"},
		{"oauth_signature_method", "PLAINTEXT"},
		{"oauth_consumer_key", oauthEscape(c.key.consumer)},
		{"oauth_token", oauthEscape(c.key.token)},
		// The '&' stays literal, as MAAS's own docs and CLI send it; MAAS
		// unquotes header values, so an escaped key would work as well.
		{"oauth_signature", "&" + oauthEscape(c.key.secret)},
		{"oauth_nonce", hex.EncodeToString(b[:])},
		{"oauth_timestamp", strconv.FormatInt(now().Unix(), 10)},
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.k + `="` + f.v + `"`
	}
	return "OAuth " + strings.Join(parts, ", "), nil
}

// oauthEscape percent-encodes as RFC 5849 section 3.6 says: everything but
// ALPHA, DIGIT, '-', '.', '_' and '~'.
func oauthEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || strings.IndexByte("-._~", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// Error is an answer from MAAS other than 2xx.
type Error struct {
	Request    string // "PUT vlans/5001/"
	StatusCode int
	Status     string
	// Message is MAAS's message, scrubbed of the API key's secret; for a 401
	// it is ours, since MAAS's 401 bodies can echo the secret.
	Message string
	// Fields holds MAAS's validation errors ({"field": ["message"]}) of a 400.
	Fields map[string][]string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "MAAS %s: %s", e.Request, e.Status)
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, m := range e.Fields[k] {
				if k == "__all__" {
					fmt.Fprintf(&b, "; %s", m)
				} else {
					fmt.Fprintf(&b, "; %s: %s", k, m)
				}
			}
		}
	} else if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// IsNotFound tells whether err is MAAS answering 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

func (c *Client) apiError(what string, resp *http.Response, body []byte) error {
	e := &Error{Request: what, StatusCode: resp.StatusCode, Status: resp.Status}
	if e.Status == "" {
		e.Status = strconv.Itoa(resp.StatusCode)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		// Never pass a 401 body on: for a bad PLAINTEXT signature MAAS
		// answers "Expected signature base string: &<the real secret>".
		e.Message = "MAAS refused the API key " + c.key.String()
		if bytes.Contains(body, []byte("signature")) {
			e.Message += " (its secret is wrong: copy the whole key again from the MAAS UI, API keys)"
		} else {
			e.Message += " (unknown or revoked key, or a reused nonce)"
		}
		return e
	case http.StatusBadRequest:
		var fields map[string][]string
		if json.Unmarshal(body, &fields) == nil && len(fields) > 0 {
			for k, ms := range fields {
				for i := range ms {
					ms[i] = c.scrub(ms[i])
				}
				fields[k] = ms
			}
			e.Fields = fields
			return e
		}
	}
	msg := strings.TrimSpace(string(body))
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "text/html" {
		msg = "" // a proxy's or Django's error page says nothing useful
	}
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	e.Message = c.scrub(msg)
	return e
}

// scrub removes the token secret from text MAAS sent back.
func (c *Client) scrub(s string) string {
	if c.key.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key.secret, "<secret>")
}

type scrubbedError struct{ msg string }

func (e scrubbedError) Error() string { return e.msg }

// scrubErr keeps transport errors (which can quote the URL, never the header)
// free of the secret all the same.
func (c *Client) scrubErr(err error) error {
	if c.key.secret != "" && strings.Contains(err.Error(), c.key.secret) {
		return scrubbedError{c.scrub(err.Error())}
	}
	return err
}
