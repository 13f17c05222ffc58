package shutdown

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyPolicy decides which host keys Request accepts. It is one of
// StrictKnownHosts, PinOnFirstUse or InsecureIgnoreHostKey.
type HostKeyPolicy interface {
	// hostKeyCheck returns the callback that checks the key the host at
	// addr offers, and the host key algorithms to ask for (nil: x/crypto's
	// defaults).
	hostKeyCheck(addr string) (ssh.HostKeyCallback, []string, error)
}

// StrictKnownHosts accepts only a host key listed for the host in an
// OpenSSH known_hosts file; an unknown key is refused, like a mismatch. The
// file is read on every Request, so edits take effect at once.
type StrictKnownHosts struct {
	File string
}

// PinOnFirstUse trusts the first host key a machine offers and refuses any
// other from then on. The keys live in StateDir/known_hosts.d/<Machine>, one
// file per machine in known_hosts format, whatever address the machine is
// reached at.
//
// MAAS gives a machine new host keys on every deployment, so the pin must be
// forgotten (ForgetPin) when the machine is redeployed.
type PinOnFirstUse struct {
	StateDir string
	Machine  string
}

// InsecureIgnoreHostKey accepts any host key, so that anyone who can answer
// at the machine's address gets the login. Only for an explicit opt-in.
type InsecureIgnoreHostKey struct{}

// HostKeyProblem says why a host key was refused.
type HostKeyProblem int

const (
	KeyUnknown  HostKeyProblem = iota // no key is known for the host
	KeyMismatch                       // keys are known for the host, but not this one
	KeyRevoked                        // the key is marked @revoked
)

// HostKeyError is the error of a refused host key. It matches ErrHostKey.
type HostKeyError struct {
	Problem HostKeyProblem
	Offered ssh.PublicKey   // what the host offered
	Known   []ssh.PublicKey // what is known for the host
	Source  string          // the known_hosts or pin file consulted
	Hint    string          // what to do about it, if there is something to say
}

func (e *HostKeyError) Error() string {
	var b strings.Builder
	offered := e.Offered.Type() + " " + ssh.FingerprintSHA256(e.Offered)
	switch e.Problem {
	case KeyUnknown:
		fmt.Fprintf(&b, "host key unknown: %s is not in %s", offered, e.Source)
	case KeyRevoked:
		fmt.Fprintf(&b, "host key revoked: %s is marked @revoked in %s", offered, e.Source)
	default:
		fmt.Fprintf(&b, "host key mismatch: host offered %s, %s holds", offered, e.Source)
		for i, k := range e.Known {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " %s %s", k.Type(), ssh.FingerprintSHA256(k))
		}
	}
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrHostKey) hold.
func (e *HostKeyError) Is(target error) bool { return target == ErrHostKey }

func (p StrictKnownHosts) hostKeyCheck(addr string) (ssh.HostKeyCallback, []string, error) {
	if p.File == "" {
		return nil, nil, errors.New("strict host key checking needs a known_hosts file")
	}
	check, err := knownhosts.New(p.File)
	if err != nil {
		return nil, nil, fmt.Errorf("reading known hosts: %w", err)
	}
	callback := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		var keyErr *knownhosts.KeyError
		var revoked *knownhosts.RevokedError
		switch {
		case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
			return &HostKeyError{Problem: KeyUnknown, Offered: key, Source: p.File,
				Hint: "add it to the file, e.g. with ssh-keyscan, after checking it"}
		case errors.As(err, &keyErr):
			return &HostKeyError{Problem: KeyMismatch, Offered: key, Known: wantedKeys(keyErr), Source: p.File,
				Hint: "the machine may have been redeployed, or someone else answers at its address"}
		case errors.As(err, &revoked):
			return &HostKeyError{Problem: KeyRevoked, Offered: key, Source: p.File}
		}
		return err
	}
	return callback, hostKeyAlgorithms(knownKeys(check, addr)), nil
}

// knownKeys returns the plain keys a knownhosts callback holds for addr.
// knownhosts does not say; but offered a key it cannot know, it answers with a
// KeyError listing every key it has for the host, matched the way OpenSSH
// matches (patterns, hashed names, ports). skeema/knownhosts does the same.
func knownKeys(check ssh.HostKeyCallback, addr string) []ssh.PublicKey {
	probe, err := probeKey()
	if err != nil {
		return nil
	}
	// The remote address is only a fallback for a missing hostname.
	remote := &net.TCPAddr{IP: net.IPv4zero, Port: 22}
	var keyErr *knownhosts.KeyError
	if errors.As(check(addr, remote, probe), &keyErr) {
		return wantedKeys(keyErr)
	}
	return nil
}

var probeKey = sync.OnceValues(func() (ssh.PublicKey, error) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return ssh.NewPublicKey(pub)
})

func wantedKeys(e *knownhosts.KeyError) []ssh.PublicKey {
	keys := make([]ssh.PublicKey, 0, len(e.Want))
	for _, k := range e.Want {
		keys = append(keys, k.Key)
	}
	return keys
}

// hostKeyAlgorithms orders the host key algorithms so that those of the
// known keys come first, as OpenSSH does.
//
// x/crypto's quirk: left to itself it asks for ECDSA first, then RSA, then
// Ed25519, whatever is known for the host. A server with RSA, ECDSA and
// Ed25519 keys, of which only the Ed25519 one is known, then shows its ECDSA
// key and the check fails with a mismatch where OpenSSH connects. The other
// algorithms stay in the list, after the known ones, so that a server that
// has dropped the known key type still shows a key and the check reports a
// mismatch, not a failed negotiation.
func hostKeyAlgorithms(known []ssh.PublicKey) []string {
	if len(known) == 0 {
		return nil
	}
	all := ssh.SupportedAlgorithms().HostKeys
	var first, rest []string
	for _, algo := range all {
		if slices.ContainsFunc(known, func(k ssh.PublicKey) bool { return keyTypeOf(algo) == k.Type() }) {
			first = append(first, algo)
		} else {
			rest = append(rest, algo)
		}
	}
	return append(first, rest...)
}

// keyTypeOf maps a host key algorithm to the key type that signs with it:
// RSA keys sign with rsa-sha2-256 and rsa-sha2-512. Certificate algorithms
// map to "" (a plain known key says nothing about certificates).
func keyTypeOf(algo string) string {
	switch algo {
	case ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512:
		return ssh.KeyAlgoRSA
	}
	if strings.Contains(algo, "-cert-") {
		return ""
	}
	return algo
}

func (p PinOnFirstUse) hostKeyCheck(addr string) (ssh.HostKeyCallback, []string, error) {
	file, err := pinFile(p.StateDir, p.Machine)
	if err != nil {
		return nil, nil, err
	}
	pinned, err := readPins(file)
	if err != nil {
		return nil, nil, err
	}
	callback := func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if len(pinned) == 0 {
			return writePin(file, addr, key)
		}
		for _, k := range pinned {
			if bytes.Equal(k.Marshal(), key.Marshal()) {
				return nil
			}
		}
		return &HostKeyError{Problem: KeyMismatch, Offered: key, Known: pinned, Source: file,
			Hint: "if the machine was redeployed it has new host keys: forget its pin"}
	}
	return callback, hostKeyAlgorithms(pinned), nil
}

// ForgetPin removes the host keys pinned for machine, so that the next
// Request pins whatever key the machine offers. A machine with no pin is not
// an error.
func ForgetPin(stateDir, machine string) error {
	file, err := pinFile(stateDir, machine)
	if err != nil {
		return err
	}
	if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forgetting the host key pin of %s: %w", machine, err)
	}
	return nil
}

func pinFile(stateDir, machine string) (string, error) {
	if stateDir == "" {
		return "", errors.New("pinning host keys needs a state directory")
	}
	// The machine name becomes a file name: keep it in its directory.
	if machine == "" || machine == "." || machine == ".." || strings.ContainsAny(machine, "/\\\x00") {
		return "", fmt.Errorf("machine name %q cannot name a pin file", machine)
	}
	return filepath.Join(stateDir, "known_hosts.d", machine), nil
}

// readPins returns the keys in a pin file; none if it does not exist.
func readPins(file string) ([]ssh.PublicKey, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading pinned host keys: %w", err)
	}
	var keys []ssh.PublicKey
	for rest := data; ; {
		marker, _, key, _, r, err := ssh.ParseKnownHosts(rest)
		if errors.Is(err, io.EOF) {
			return keys, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading pinned host keys from %s: %w", file, err)
		}
		if marker == "" {
			keys = append(keys, key)
		}
		rest = r
	}
}

// writePin records key as the machine's; the address goes in the line only
// so that the file reads like known_hosts and works with ssh -o
// UserKnownHostsFile.
func writePin(file, addr string, key ssh.PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("pinning host key: %w", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("pinning host key: %w", err)
	}
	_, err = f.WriteString(knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pinning host key: %w", err)
	}
	return nil
}

func (InsecureIgnoreHostKey) hostKeyCheck(string) (ssh.HostKeyCallback, []string, error) {
	return ssh.InsecureIgnoreHostKey(), nil, nil
}
