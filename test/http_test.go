package test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// Issue 12 item 9: HEAD on a GET route answered 405. It answers as the GET
// does, code and headers, with no body.
func TestHeadOnAGetRouteAnswersAsGet(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	b := startBridge(t, maasConfig(pdu))
	for _, path := range []string{"/v1/machines/node1/status", "/v1/machines/node1/status/", "/v1/machines", "/healthz", "/readyz"} {
		answer := func(method string) (*http.Response, []byte) {
			t.Helper()
			req, _ := http.NewRequest(method, b.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+maasToken)
			resp, err := maasClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return resp, body
		}
		get, getBody := answer(http.MethodGet)
		head, headBody := answer(http.MethodHead)
		if head.StatusCode != get.StatusCode || get.StatusCode != http.StatusOK {
			t.Errorf("HEAD %s: %d, GET %d %s; want both 200", path, head.StatusCode, get.StatusCode, getBody)
		}
		if len(headBody) != 0 {
			t.Errorf("HEAD %s has a body: %q", path, headBody)
		}
		if h, g := head.Header.Get("Content-Length"), strconv.Itoa(len(getBody)); h != g {
			t.Errorf("HEAD %s: Content-Length %q, the GET's body is %s bytes", path, h, g)
		}
		if h, g := head.Header.Get("Content-Type"), get.Header.Get("Content-Type"); h != g {
			t.Errorf("HEAD %s: Content-Type %q, GET %q", path, h, g)
		}
	}
}

// rawAnswer sends request as it is over conn and reads the answer, while
// the request is still being written if the server answers early.
func rawAnswer(t *testing.T, conn net.Conn, request string) (*http.Response, []byte) {
	t.Helper()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(conn, request)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer's body: %v", err)
	}
	return resp, body
}

// checkJSONError checks an answer is code with a JSON error body whose
// length is in Content-Length, as MAAS's client needs.
func checkJSONError(t *testing.T, what string, resp *http.Response, body []byte, code int) {
	t.Helper()
	if resp.StatusCode != code {
		t.Errorf("%s: %d %q, want %d", what, resp.StatusCode, body, code)
	}
	if n, err := strconv.Atoi(resp.Header.Get("Content-Length")); err != nil || n != len(body) {
		t.Errorf("%s: Content-Length %q for a body of %d bytes", what, resp.Header.Get("Content-Length"), len(body))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var e struct{ Error string }
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("%s: body %q is not a JSON error", what, body)
	}
}

// Issue 12 item 9: 431 answers (headers too large) were plain text with no
// Content-Length. They are JSON errors like every other, over HTTP and
// HTTPS; so are the 400s net/http writes by itself, and the one to plain
// HTTP sent to the HTTPS port.
func TestHeadersTooLargeAnswerIsJSON(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	big := "GET /v1/machines/node1/status HTTP/1.1\r\nHost: powerbridge\r\nAuthorization: Bearer " + maasToken +
		"\r\nX-Padding: " + strings.Repeat("p", 1<<20+8192) + "\r\n\r\n"

	t.Run("http", func(t *testing.T) {
		b := startBridge(t, maasConfig(pdu))
		addr := strings.TrimPrefix(b.URL, "http://")
		for _, tc := range []struct {
			what, request string
			code          int
		}{
			{"headers over 1 MiB", big, http.StatusRequestHeaderFieldsTooLarge},
			{"no Host", "GET /healthz HTTP/1.1\r\n\r\n", http.StatusBadRequest},
			{"not HTTP", "HELLO\r\n\r\n", http.StatusBadRequest},
		} {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := rawAnswer(t, conn, tc.request)
			conn.Close()
			checkJSONError(t, tc.what, resp, body, tc.code)
		}
	})

	t.Run("https", func(t *testing.T) {
		cert, key, pool := selfSigned(t)
		addr := freePort(t)
		dir := t.TempDir()
		path := filepath.Join(dir, "powerbridge.yaml")
		cfg := fmt.Sprintf("listen: %q\nstate_dir: %q\ntls: {cert_file: %q, key_file: %q}\n%s", addr, dir, cert, key, maasConfig(pdu))
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		b := startProcess(t, "", "serve", "--config", path)
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		waitUntil(t, 20*time.Second, "powerbridge answers /healthz over HTTPS", func() bool {
			resp, err := client.Get("https://" + addr + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		// The API works over HTTPS as before.
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/v1/machines/node1/status", nil)
		req.Header.Set("Authorization", "Bearer "+maasToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		status, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(status) != `{"status":"stopped"}`+"\n" {
			t.Errorf("status over HTTPS: %d %q", resp.StatusCode, status)
		}

		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
		if err != nil {
			t.Fatalf("TLS: %v\n%s", err, b.logs)
		}
		defer conn.Close()
		r, body := rawAnswer(t, conn, big)
		checkJSONError(t, "headers over 1 MiB over HTTPS", r, body, http.StatusRequestHeaderFieldsTooLarge)

		plain, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer plain.Close()
		r, body = rawAnswer(t, plain, "GET /healthz HTTP/1.1\r\nHost: powerbridge\r\n\r\n")
		checkJSONError(t, "plain HTTP to the HTTPS port", r, body, http.StatusBadRequest)
	})
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "powerbridge test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// Issue 12 item 9: node%31 was not decoded (net/http keeps it as a raw
// path, which chi routes on) while n%C3%B6de was. Every escape is decoded
// before routing: node%31 is node1, everywhere.
func TestPathEscapesAreDecodedAlike(t *testing.T) {
	dev, _, pdu := simPDU(t, "ap7900")
	b := startBridge(t, maasConfig(pdu))
	auth := bearer(maasToken)
	for _, tc := range []struct {
		method, path string
		code         int
		body         string // the answer holds it
	}{
		{http.MethodGet, "/v1/machines/node%31/status", 200, `{"status":"stopped"}`},
		{http.MethodGet, "/v1/machines/%6Eode1/status/", 200, `{"status":"stopped"}`},
		{http.MethodPost, "/v1/machines/node%31/on", 200, `"machine":"node1"`},
		{http.MethodGet, "/v1/machines/node1/st%61tus", 200, `{"status":"running"}`},
		{http.MethodGet, "/v1/machines/n%C3%B6de/status", 400, `nöde`},
		{http.MethodGet, "/v1/machines/node%2531/status", 400, `node%31`},
	} {
		code, body := b.maas(t, maasCall{method: tc.method, path: tc.path, auth: auth})
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s %s: %d %s, want %d with %s", tc.method, tc.path, code, body, tc.code, tc.body)
		}
	}
	if dev.OutletState(1) != power.On || dev.Switches(1) != 1 {
		t.Errorf("outlet 1 after POST .../node%%31/on: %s after %d SETs, want on after 1", dev.OutletState(1), dev.Switches(1))
	}
}

// Issue 12 item 9: an unauthenticated /readyz showed every unreadable PDU's
// address and SNMP error. Without credentials it says ready or not and how
// many PDUs cannot be read; with the API's credentials, which and why.
func TestReadyzShowsNoPDUDetailsWithoutAuth(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	// rack2 listens and never answers.
	mute, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mute.Close() })
	pdus := pdu + fmt.Sprintf(`
  - name: rack2
    address: %q
    snmp: {version: "1", community: private, timeout: 300ms, retries: 0}
`, mute.LocalAddr())
	b := startBridge(t, maasConfig(pdus))
	muteAddr := mute.LocalAddr().String()

	ready := func(token string) (int, map[string]any, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+"/readyz", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := maasClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("/readyz answered %q: %v", body, err)
		}
		return resp.StatusCode, out, string(body)
	}

	code, out, body := ready("")
	if code != http.StatusServiceUnavailable || out["ready"] != false || out["pdus"] != 2.0 || out["unreadable_pdus"] != 1.0 {
		t.Errorf("without credentials: %d %s, want 503 saying 1 of 2 PDUs cannot be read", code, body)
	}
	for _, detail := range []string{muteAddr, "rack2", "no answer"} {
		if strings.Contains(body, detail) {
			t.Errorf("without credentials the answer shows %q: %s", detail, body)
		}
	}

	code, out, body = ready(maasToken)
	errs, _ := out["errors"].(map[string]any)
	if e, _ := errs["rack2"].(string); code != http.StatusServiceUnavailable || !strings.Contains(e, muteAddr) || len(errs) != 1 {
		t.Errorf("with credentials: %d %s, want 503 with rack2's error naming %s", code, body, muteAddr)
	}

	if code, _, body := ready("wrong-token"); code != http.StatusUnauthorized || strings.Contains(body, muteAddr) {
		t.Errorf("wrong credentials: %d %s, want 401 without details", code, body)
	}
}
