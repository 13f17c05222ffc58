package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

const healthcheckUsage = `Usage: powerbridge healthcheck [--url URL]

Asks a running powerbridge whether it is up (GET /healthz), for Docker's
HEALTHCHECK and other supervisors. It needs no credentials.

Exit status: 0 healthy, 1 not healthy or not answering, 2 usage error.

Flags:
`

func healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("healthcheck", "", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, healthcheckUsage)
		fs.PrintDefaults()
	}
	target := fs.String("url", "http://127.0.0.1:8080/healthz", "the health `URL` of the server")
	timeout := fs.Duration("timeout", 5*time.Second, "fail when the server has not answered within this")
	insecure := fs.Bool("insecure", false, "do not verify the server's TLS certificate (for https://127.0.0.1/..., an address the certificate does not name)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "powerbridge healthcheck: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "powerbridge healthcheck: --url %q: want http://HOST:PORT/healthz\n", *target)
		return exitUsage
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a check of this host must not go through a proxy from the environment
	if *insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	hc := &http.Client{Transport: tr}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		fmt.Fprintf(stderr, "powerbridge healthcheck: %v\n", err)
		return exitUsage
	}
	resp, err := hc.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "powerbridge healthcheck: %s: not answering: %v\n", u.Redacted(), err)
		return exitFail
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "powerbridge healthcheck: %s: not healthy: %s\n", u.Redacted(), resp.Status)
		return exitFail
	}
	fmt.Fprintf(stdout, "healthy: %s\n", u.Redacted())
	return exitOK
}
