package shutdown

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func publicKey(t *testing.T, kind string) ssh.PublicKey {
	t.Helper()
	var pub any
	switch kind {
	case "ed25519":
		pub, _, _ = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub = &k.PublicKey
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub = &k.PublicKey
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestHostKeyAlgorithms(t *testing.T) {
	ed, ec, rs := publicKey(t, "ed25519"), publicKey(t, "ecdsa"), publicKey(t, "rsa")
	all := ssh.SupportedAlgorithms().HostKeys
	for _, tc := range []struct {
		name  string
		known []ssh.PublicKey
		first []string
	}{
		{"nothing known: x/crypto's defaults", nil, nil},
		{"ed25519", []ssh.PublicKey{ed}, []string{ssh.KeyAlgoED25519}},
		{"rsa signs with sha2", []ssh.PublicKey{rs}, []string{ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512}},
		{"two known, in x/crypto's order", []ssh.PublicKey{ed, ec}, []string{ssh.KeyAlgoECDSA256, ssh.KeyAlgoED25519}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := hostKeyAlgorithms(tc.known)
			if tc.first == nil {
				if got != nil {
					t.Fatalf("got %v, want nil", got)
				}
				return
			}
			if !slices.Equal(got[:len(tc.first)], tc.first) {
				t.Errorf("got %v, want it to start with %v", got, tc.first)
			}
			// The rest stay, so that a host that dropped the known type
			// still shows a key and fails as a mismatch.
			if len(got) != len(all) {
				t.Errorf("got %d algorithms, want all %d", len(got), len(all))
			}
		})
	}
}

func TestStrictKnownKeysFollowOpenSSHMatching(t *testing.T) {
	ed, ec := publicKey(t, "ed25519"), publicKey(t, "ecdsa")
	file := filepath.Join(t.TempDir(), "known_hosts")
	lines := knownhosts.Line([]string{knownhosts.HashHostname("node1.maas")}, ed) + "\n" +
		knownhosts.Line([]string{"[node1.maas]:2222"}, ec) + "\n" +
		"# a comment\n"
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	_, algos, err := StrictKnownHosts{File: file}.hostKeyCheck("node1.maas:22")
	if err != nil {
		t.Fatal(err)
	}
	if algos[0] != ssh.KeyAlgoED25519 || algos[1] == ssh.KeyAlgoECDSA256 {
		t.Errorf("for port 22 (hashed ed25519 entry) got %v, want ed25519 first and only", algos[:2])
	}
	_, algos, _ = StrictKnownHosts{File: file}.hostKeyCheck("node1.maas:2222")
	if algos[0] != ssh.KeyAlgoECDSA256 {
		t.Errorf("for port 2222 got %v, want ecdsa first", algos[:2])
	}
	_, algos, _ = StrictKnownHosts{File: file}.hostKeyCheck("node2.maas:22")
	if algos != nil {
		t.Errorf("for an unknown host got %v, want x/crypto's defaults", algos)
	}
}

func TestPinFileNames(t *testing.T) {
	for _, tc := range []struct {
		state, machine string
		want           string // the file, or a piece of the error
	}{
		{"/var/lib/powerbridge", "node1", "/var/lib/powerbridge/known_hosts.d/node1"},
		{"/var/lib/powerbridge", "node1.maas", "/var/lib/powerbridge/known_hosts.d/node1.maas"},
		{"/var/lib/powerbridge", "", `machine name "" cannot name a pin file`},
		{"/var/lib/powerbridge", "..", `machine name ".." cannot name a pin file`},
		{"/var/lib/powerbridge", "../etc/passwd", `cannot name a pin file`},
		{"", "node1", "pinning host keys needs a state directory"},
	} {
		got, err := pinFile(tc.state, tc.machine)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("pinFile(%q, %q) = %q, want %q", tc.state, tc.machine, got, tc.want)
		}
	}
}

func TestPinFirstUseThenMismatch(t *testing.T) {
	state := t.TempDir()
	first, second := publicKey(t, "ed25519"), publicKey(t, "ed25519")
	policy := PinOnFirstUse{StateDir: state, Machine: "node1"}

	check, algos, err := policy.hostKeyCheck("10.0.0.5:22")
	if err != nil || algos != nil {
		t.Fatalf("hostKeyCheck with no pin: %v, %v", algos, err)
	}
	if err := check("10.0.0.5:22", nil, first); err != nil {
		t.Fatalf("first use: %v", err)
	}
	data, _ := os.ReadFile(filepath.Join(state, "known_hosts.d", "node1"))
	if want := knownhosts.Line([]string{"10.0.0.5"}, first) + "\n"; string(data) != want {
		t.Errorf("pin file %q, want %q", data, want)
	}

	// The machine moved to another address: the pin is the machine's.
	check, algos, err = policy.hostKeyCheck("10.0.0.9:22")
	if err != nil || algos[0] != ssh.KeyAlgoED25519 {
		t.Fatalf("hostKeyCheck with a pin: %v, %v", algos, err)
	}
	if err := check("10.0.0.9:22", nil, first); err != nil {
		t.Errorf("pinned key refused: %v", err)
	}
	err = check("10.0.0.9:22", nil, second)
	var hk *HostKeyError
	if !errors.Is(err, ErrHostKey) || !errors.As(err, &hk) || hk.Problem != KeyMismatch {
		t.Fatalf("other key: %v, want a mismatch", err)
	}

	if err := ForgetPin(state, "node1"); err != nil {
		t.Fatal(err)
	}
	if err := ForgetPin(state, "node1"); err != nil {
		t.Errorf("forgetting a pin that is gone: %v", err)
	}
	check, _, _ = policy.hostKeyCheck("10.0.0.9:22")
	if err := check("10.0.0.9:22", nil, second); err != nil {
		t.Errorf("after ForgetPin: %v", err)
	}
}

func TestWithDefaultPort(t *testing.T) {
	for in, want := range map[string]string{
		"node1":          "node1:22",
		"node1:2222":     "node1:2222",
		"10.0.0.5":       "10.0.0.5:22",
		"fe80::1":        "[fe80::1]:22",
		"[fe80::1]":      "[fe80::1]:22",
		"[fe80::1]:2222": "[fe80::1]:2222",
		"":               "",
	} {
		if got := withDefaultPort(in); got != want {
			t.Errorf("withDefaultPort(%q) = %q, want %q", in, got, want)
		}
	}
}
