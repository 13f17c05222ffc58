package test

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

// fingerprintRE finds the certificate's fingerprint in the log.
var fingerprintRE = regexp.MustCompile(`sha256_fingerprint=([0-9A-F:]{95})`)

// tlsClient is MAAS's TLS: the certificate is not checked, no SNI (an IP
// address is dialled), TLS versions from min to max.
func tlsClient(min, max uint16) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, MinVersion: min, MaxVersion: max},
		DisableKeepAlives: true,
	}}
}

// With tls_listen and no tls section, powerbridge serves HTTPS (TLS 1.2
// and 1.3, nothing older) with a self-signed certificate it made in
// state_dir, logs its fingerprint, and keeps it across a restart; MAAS's
// sequences and sushy (checking the certificate, as Ironic's
// redfish_verify_ca does) drive a machine over it.
func TestRedfishSelfSignedTLS(t *testing.T) {
	tlsAddr := freePort(t)
	r := newRedfishRig(t, rfOptions{extra: fmt.Sprintf("tls_listen: %q\n", tlsAddr)})
	stateDir := configValue(t, r.bridge.Config, "state_dir")
	certFile := filepath.Join(stateDir, "tls-self-signed.crt")
	fp := fingerprintRE.FindStringSubmatch(r.bridge.logs.String())
	if fp == nil || !strings.Contains(r.bridge.logs.String(), "created=true") {
		t.Fatalf("no certificate made and its fingerprint logged:\n%s", r.bridge.logs.String())
	}
	if st, err := os.Stat(filepath.Join(stateDir, "tls-self-signed.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the key in state_dir: %v, mode %v; want 0600", err, st.Mode().Perm())
	}

	for _, v := range []struct {
		name string
		ver  uint16
	}{{"TLS 1.2", tls.VersionTLS12}, {"TLS 1.3", tls.VersionTLS13}} {
		conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{InsecureSkipVerify: true, MinVersion: v.ver, MaxVersion: v.ver})
		if err != nil {
			t.Errorf("%s: %v", v.name, err)
			continue
		}
		sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
		if got := strings.ToUpper(strings.ReplaceAll(fmt.Sprintf("% x", sum), " ", ":")); got != fp[1] {
			t.Errorf("%s: the certificate shown is %s; the log said %s", v.name, got, fp[1])
		}
		conn.Close()
	}
	if conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}

	// MAAS 3.8's power on, over TLS 1.2 as MAAS speaks it.
	m := r.maas(t, "", false)
	m.base, m.client = "https://"+tlsAddr, tlsClient(tls.VersionTLS12, tls.VersionTLS12)
	m.on38()
	r.switched(t, "MAAS 3.8's on over TLS", power.On, 1)

	// Ironic: sushy with the certificate as its CA, checked.
	needPython(t, "sushy")
	r.dev.SetOutletState(1, power.Off)
	cmd := exec.Command(debianPython, "clients/sushy_power.py")
	// requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE override a
	// session's own CA file, which is how sushy passes it: leave them out.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REQUESTS_CA_BUNDLE=") && !strings.HasPrefix(kv, "CURL_CA_BUNDLE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "RF_URL=https://"+tlsAddr, "RF_USER="+redfishUser, "RF_PASS="+redfishPass,
		"RF_AUTH=session", "RF_SYSTEM=node1", "RF_VERIFY="+certFile)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "after off Off\n") {
		t.Errorf("sushy over TLS, checking the certificate: %v\n%s", err, out)
	}

	// A restart keeps the certificate.
	r.bridge.cmd.Process.Signal(os.Interrupt)
	waitUntil(t, 20*time.Second, "the first process lets go of tls_listen", func() bool {
		c, err := net.Dial("tcp", tlsAddr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	config, err := os.ReadFile(r.bridge.Config)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(config), "\n") // startBridge writes listen again
	again := startBridge(t, rest)
	if got := fingerprintRE.FindStringSubmatch(again.logs.String()); got == nil || got[1] != fp[1] || !strings.Contains(again.logs.String(), "created=false") {
		t.Errorf("after a restart the certificate is %v, want %s kept:\n%s", got, fp[1], again.logs.String())
	}
}

// configValue reads a top-level scalar key of a config file.
func configValue(t *testing.T, path, key string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			return strings.Trim(v, `"`)
		}
	}
	t.Fatalf("%s has no %s", path, key)
	return ""
}

// With a tls section, tls_listen serves its certificate, checked by a
// client that trusts only it, and makes none in state_dir.
func TestTLSListenServesTheConfiguredCertificate(t *testing.T) {
	_, _, pdu := simPDU(t, "ap7900")
	cert, key, pool := selfSigned(t)
	addr, tlsAddr, dir := freePort(t), freePort(t), t.TempDir()
	path := filepath.Join(dir, "powerbridge.yaml")
	cfg := fmt.Sprintf("listen: %q\ntls_listen: %q\nstate_dir: %q\ntls: {cert_file: %q, key_file: %q}\n%s", addr, tlsAddr, dir, cert, key, maasConfig(pdu))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, "", "serve", "--config", path)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	waitUntil(t, 20*time.Second, "GET Systems/node1 over tls_listen, the certificate checked", func() bool {
		req, _ := http.NewRequest("GET", "https://"+tlsAddr+"/redfish/v1/Systems/node1", nil)
		req.SetBasicAuth(redfishUser, redfishPass)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if _, err := os.Stat(filepath.Join(dir, "tls-self-signed.crt")); err == nil {
		t.Error("a self-signed certificate was made though tls gives one")
	}
}
