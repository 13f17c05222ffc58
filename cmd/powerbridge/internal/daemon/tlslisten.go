package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/atomicfile"
	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/config"
	"github.com/powerbridge/powerbridge/server"
)

// The self-signed certificate of tls_listen, in state_dir: made once, kept
// across restarts, so that a client that pinned it (Ironic's
// redfish_verify_ca, Metal3) keeps trusting it.
const (
	selfSignedCert = "tls-self-signed.crt"
	selfSignedKey  = "tls-self-signed.key"
)

// listen opens a listener on addr serving HTTPS with cert when cert is not
// nil, HTTP/1.1 only (what MAAS speaks: net/http offers HTTP/2 only on a
// *tls.Conn of its own, and server.Listener wraps the connections), TLS 1.2
// or later.
func listen(addr string, cert *tls.Certificate) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12})
	}
	return server.Listener(ln, maxHeaderBytes), nil
}

// serveTLSListen serves the service on tls_listen when the config has one:
// with tls's certificate, else with the self-signed one of state_dir, made
// when there is none. stop ends it.
func (s *service) serveTLSListen(ctx context.Context, cfg *config.File, srv func() *http.Server) (stop func(), err error) {
	if cfg.TLSListen == "" {
		return func() {}, nil
	}
	var cert tls.Certificate
	if cfg.TLS != nil {
		if cert, err = tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile); err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
	} else if cert, err = s.selfSigned(cfg.StateDir, cfg.TLSListen); err != nil {
		return nil, fmt.Errorf("tls_listen: %w", err)
	}
	ln, err := listen(cfg.TLSListen, &cert)
	if err != nil {
		return nil, fmt.Errorf("tls_listen: %w", err)
	}
	hs := srv()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("tls_listen listener failed", "error", err.Error())
		}
	}()
	s.log.Info("serving HTTPS", "addr", ln.Addr().String(), "self_signed", cfg.TLS == nil)
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeouts.Action.Std())
		defer cancel()
		hs.Shutdown(sctx)
		<-done
	}, nil
}

// selfSigned loads the self-signed certificate of dir, or makes one when
// the pair is missing or half there, and logs its SHA-256 fingerprint
// (what a user compares with the certificate a client is shown).
func (s *service) selfSigned(dir, addr string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey)
	_, cerr := os.Stat(certPath)
	_, kerr := os.Stat(keyPath)
	created := false
	if cerr != nil || kerr != nil {
		if err := makeSelfSigned(certPath, keyPath, addr); err != nil {
			return tls.Certificate{}, err
		}
		created = true
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w (remove %s and %s to have a new certificate made)", err, certPath, keyPath)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	fp := make([]string, len(sum))
	for i, b := range sum {
		fp[i] = fmt.Sprintf("%02X", b)
	}
	s.log.Info("tls_listen certificate", "file", certPath, "created", created, "sha256_fingerprint", strings.Join(fp, ":"))
	return cert, nil
}

// makeSelfSigned writes a new self-signed certificate and key for this
// host's names and addresses (MAAS checks none of them; a client given the
// certificate as its CA checks the name it dials). The key is written
// first: a pair whose certificate is missing is made again.
func makeSelfSigned(certPath, keyPath, addr string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	ski := sha1.Sum(pub) // RFC 5280's method 1 names the key by a SHA-1 of it
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "powerbridge " + host, Organization: []string{"powerbridge"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(20, 0, 0),
		// A CA of itself, so that clients can be given it as their CA.
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:       x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		SubjectKeyId:   ski[:],
		AuthorityKeyId: ski[:],
	}
	tmpl.DNSNames, tmpl.IPAddresses = certNames(host, addr)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o750); err != nil {
		return err
	}
	if err := atomicfile.Write(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// certNames are the names and addresses the certificate is for: the host
// name, localhost, loopback, the listener's address when it names one, and
// the host's addresses when it was made.
func certNames(host, addr string) (dns []string, ips []net.IP) {
	dns = []string{"localhost"}
	if host != "" && host != "localhost" {
		dns = append(dns, host)
	}
	ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	seen := map[string]bool{"127.0.0.1": true, "::1": true}
	add := func(ip net.IP) {
		if ip != nil && !ip.IsUnspecified() && !seen[ip.String()] {
			seen[ip.String()] = true
			ips = append(ips, ip)
		}
	}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		add(net.ParseIP(h))
	}
	if as, err := net.InterfaceAddrs(); err == nil {
		for _, a := range as {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
				add(n.IP)
			}
		}
	}
	return dns, ips
}
