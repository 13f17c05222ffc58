package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// The self-signed certificate is its own CA: a client given it as its CA
// file (Ironic's redfish_verify_ca) trusts it for loopback and localhost.
func TestSelfSignedIsItsOwnCA(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("PB_CERT_DIR"); d != "" {
		dir = d
	}
	certPath, keyPath := filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey)
	if err := makeSelfSigned(certPath, keyPath, "0.0.0.0:8443"); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	for _, name := range []string{"127.0.0.1", "localhost", "::1"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("verifying for %s: %v", name, err)
		}
	}
	if st, err := os.Stat(keyPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the key file: %v %v, want mode 0600", err, st.Mode())
	}
}
