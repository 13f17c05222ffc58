package pdusim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials the tests' agents accept.
const (
	readCommunity  = "public"
	writeCommunity = "private"
	authPass       = "auth-pass-1"
	privPass       = "priv-pass-1"
)

// testUsers are the SNMPv3 users of the tests' agents: net-snmp's usual
// pairing, the SHA-2/AES-256 one, the old one, and one without privacy.
var testUsers = []User{
	{Name: "sha-aes", AuthProtocol: "SHA", AuthPassphrase: authPass, PrivProtocol: "AES", PrivPassphrase: privPass},
	{Name: "sha256-aes256", AuthProtocol: "SHA256", AuthPassphrase: authPass, PrivProtocol: "AES256", PrivPassphrase: privPass},
	{Name: "md5-des", AuthProtocol: "MD5", AuthPassphrase: authPass, PrivProtocol: "DES", PrivPassphrase: privPass},
	{Name: "sha-only", AuthProtocol: "SHA", AuthPassphrase: authPass},
}

var testAccess = Access{Community: readCommunity, WriteCommunity: writeCommunity, Users: testUsers}

// cred is how a net-snmp tool authenticates.
type cred struct {
	name string
	args []string
}

var (
	v1Read   = cred{"v1", []string{"-v1", "-c", readCommunity}}
	v1Write  = cred{"v1", []string{"-v1", "-c", writeCommunity}}
	v2cRead  = cred{"v2c", []string{"-v2c", "-c", readCommunity}}
	v2cWrite = cred{"v2c", []string{"-v2c", "-c", writeCommunity}}
	// v3 users all have read-write access.
	v3SHAAES       = cred{"v3-SHA-AES", []string{"-v3", "-l", "authPriv", "-u", "sha-aes", "-a", "SHA", "-A", authPass, "-x", "AES", "-X", privPass}}
	v3SHA256AES256 = cred{"v3-SHA256-AES256", []string{"-v3", "-l", "authPriv", "-u", "sha256-aes256", "-a", "SHA-256", "-A", authPass, "-x", "AES-256", "-X", privPass}}
	v3MD5DES       = cred{"v3-MD5-DES", []string{"-v3", "-l", "authPriv", "-u", "md5-des", "-a", "MD5", "-A", authPass, "-x", "DES", "-X", privPass}}
	v3AuthNoPriv   = cred{"v3-SHA-authNoPriv", []string{"-v3", "-l", "authNoPriv", "-u", "sha-only", "-a", "SHA", "-A", authPass}}

	readCreds  = []cred{v1Read, v2cRead, v3SHAAES, v3SHA256AES256, v3MD5DES, v3AuthNoPriv}
	writeCreds = []cred{v1Write, v2cWrite, v3SHAAES, v3SHA256AES256, v3MD5DES}
)

// output is what a net-snmp tool printed.
type output struct {
	stdout, stderr string
	code           int
}

// String shows an output in a failure message.
func (o output) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%sstderr:\n%s", o.code, o.stdout, o.stderr)
}

var toolsChecked sync.Map

// snmp runs one of net-snmp's tools against addr, numeric OIDs in and out,
// without MIB files, one try with a one-second timeout. It fails the test
// (it does not skip it) when the tool is missing: CI installs it.
func snmp(t *testing.T, tool string, c cred, addr string, args ...string) output {
	t.Helper()
	if _, done := toolsChecked.Load(tool); !done {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: install Debian's snmp package (apt-get install snmp); it is the independent client these tests need", tool)
		}
		toolsChecked.Store(tool, true)
	}
	// A fresh persistent and configuration directory for each run keeps
	// the user's and the system's snmp.conf out, and concurrent runs from
	// overwriting each other's state. cert_indexes made up front keeps
	// net-snmp from announcing that it created it.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "cert_indexes"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	argv := append(append(append([]string{}, c.args...), "-On", "-t", "1", "-r", "0", addr), args...)
	cmd := exec.CommandContext(ctx, tool, argv...)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS="+dir, "SNMPCONFPATH="+dir, "SNMP_PERSISTENT_DIR="+dir, "HOME="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", tool, strings.Join(argv, " "), err)
	}
	return output{stdout.String(), stderr.String(), code}
}

// same compares two tool texts, ignoring trailing newlines.
func same(got, want string) bool {
	return strings.TrimRight(got, "\n") == strings.TrimRight(want, "\n")
}

// lines joins lines into a tool's output.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

// newDevice makes a built-in device or fails the test.
func newDevice(t *testing.T, model string, opts Options) *Device {
	t.Helper()
	d, err := New(model, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// listen serves d on a loopback port until the test ends.
func listen(t *testing.T, d *Device, acc Access) *Agent {
	t.Helper()
	a, err := d.Listen("127.0.0.1:0", acc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("closing the agent: %v", err)
		}
	})
	return a
}

// eventually polls cond until it holds or within has passed, then fails
// with what cond last said.
func eventually(t *testing.T, within time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, msg)
		}
		time.Sleep(20 * time.Millisecond) // the poll interval, not a synchronisation
	}
}

// fakeClock is a device clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
