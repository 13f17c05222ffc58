package pdusim

// These tests hold the agent to net-snmp's command-line tools, the
// independent client that proves it behaves like a real agent: exact values,
// exact error texts, over v1, v2c and v3.

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power"
)

const apc = ".1.3.6.1.4.1.318.1.1"

// TestToolsGet reads the state objects of every tree, with every kind of
// credentials.
func TestToolsGet(t *testing.T) {
	d := newDevice(t, "ap8941", Options{})
	d.SetOutletState(2, power.Off)
	a := listen(t, d, testAccess)
	want := [][2]string{
		{".1.3.6.1.2.1.1.2.0", "OID: .1.3.6.1.4.1.318.1.3.4.6"},
		{apc + ".4.1.4.0", `STRING: "AP8941"`},
		// sPDU: 1 on, 2 off; pending 2 none.
		{apc + ".4.4.1.0", "INTEGER: 24"},
		{apc + ".4.4.2.1.3.1", "INTEGER: 1"},
		{apc + ".4.4.2.1.3.2", "INTEGER: 2"},
		{apc + ".4.4.2.1.2.2", "INTEGER: 2"},
		{apc + ".4.4.2.1.4.2", `STRING: "Outlet 2"`},
		// rPDU: status 1 on, 2 off; the command column reads the state.
		{apc + ".12.3.1.3.0", "INTEGER: 24"},
		{apc + ".12.3.5.1.1.4.1", "INTEGER: 1"},
		{apc + ".12.3.5.1.1.4.2", "INTEGER: 2"},
		{apc + ".12.3.5.1.1.5.2", "INTEGER: 2"},
		{apc + ".12.3.3.1.1.4.2", "INTEGER: 2"},
		// 23 outlets on at 0.35 A: 8.05 A, in tenths.
		{apc + ".12.2.3.1.1.2.1", "Gauge32: 81"},
		// rPDU2: row 6 is outlet 1, row 7 outlet 2; the state is inverted
		// (2 on, 1 off), the command column is not.
		{apc + ".26.9.1.0", "INTEGER: 24"},
		{apc + ".26.9.2.3.1.4.6", "INTEGER: 1"},
		{apc + ".26.9.2.3.1.5.6", "INTEGER: 2"},
		{apc + ".26.9.2.3.1.4.7", "INTEGER: 2"},
		{apc + ".26.9.2.3.1.5.7", "INTEGER: 1"},
		{apc + ".26.9.2.3.1.6.7", "INTEGER: 2"},
		{apc + ".26.9.2.4.1.5.7", "INTEGER: 2"},
		{apc + ".26.4.3.1.5.1", "INTEGER: 185"}, // hundredths of kW
		{apc + ".26.4.3.1.9.1", "INTEGER: 48213"},
		{apc + ".26.6.3.1.5.1", "INTEGER: 81"},
		{apc + ".26.6.3.1.6.1", "INTEGER: 230"},
	}
	var oids, out []string
	for _, w := range want {
		oids = append(oids, w[0])
		out = append(out, w[0]+" = "+w[1])
	}
	for _, c := range readCreds {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := snmp(t, "snmpget", c, a.Addr(), oids...)
			if got.code != 0 || !same(got.stdout, lines(out...)) || got.stderr != "" {
				t.Errorf("got\n%s\nwant stdout\n%s", got, lines(out...))
			}
		})
	}

	// The AP7900 as MAAS reads it: v1, the write community.
	d7 := newDevice(t, "ap7900", Options{})
	a7 := listen(t, d7, testAccess)
	got := snmp(t, "snmpget", v1Write, a7.Addr(), ".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.2.0", apc+".12.2.3.1.1.2.1", apc+".12.1.5.0")
	wantOut := lines(
		`.1.3.6.1.2.1.1.1.0 = STRING: "APC Web/SNMP Management Card (MB:v3.9.2 PF:v3.7.4 PN:apc_hw02_aos_374.bin AF1:v3.7.4 AN1:apc_hw02_rpdu_374.bin MN:AP7900 HR:B2 SN: ZA0733005455 MD:08/18/2007) "`,
		".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.318.1.3.4.5",
		apc+".12.2.3.1.1.2.1 = Gauge32: 28",
		apc+`.12.1.5.0 = STRING: "AP7900"`,
	)
	if got.code != 0 || !same(got.stdout, wantOut) {
		t.Errorf("ap7900:\n%s\nwant stdout\n%s", got, wantOut)
	}
}

// TestToolsWalk walks outlet tables with GETNEXT and GETBULK.
func TestToolsWalk(t *testing.T) {
	d7 := newDevice(t, "ap7900", Options{})
	d7.SetOutletState(5, power.Off)
	a7 := listen(t, d7, testAccess)
	var ctl []string
	for n := 1; n <= 8; n++ {
		state := 1
		if n == 5 {
			state = 2
		}
		ctl = append(ctl, fmt.Sprintf("%s.4.4.2.1.3.%d = INTEGER: %d", apc, n, state))
	}

	d := newDevice(t, "ap8941", Options{})
	a := listen(t, d, testAccess)
	numbers := make([]string, 24)
	for n := 1; n <= 24; n++ {
		x := rPDU2Row(n, 24)
		numbers[x-1] = fmt.Sprintf("%s.26.9.2.3.1.4.%d = INTEGER: %d", apc, x, n)
	}
	// The last column of the ap8941's MIB: walking it runs into the end
	// of the MIB, which the tools print as they do for snmpd.
	var last []string
	for x := 1; x <= 24; x++ {
		last = append(last, fmt.Sprintf("%s.26.9.2.4.1.5.%d = INTEGER: 1", apc, x))
	}
	lastV1 := append(slices.Clone(last), "End of MIB")
	lastV2 := append(slices.Clone(last), last[23][:strings.Index(last[23], " = ")]+" = No more variables left in this MIB View (It is past the end of the MIB tree)")

	for _, tc := range []struct {
		name, tool, addr, root string
		c                      cred
		want                   []string
	}{
		{"sPDU v1", "snmpwalk", a7.Addr(), apc + ".4.4.2.1.3", v1Read, ctl},
		{"sPDU v2c", "snmpwalk", a7.Addr(), apc + ".4.4.2.1.3", v2cRead, ctl},
		{"sPDU v3", "snmpwalk", a7.Addr(), apc + ".4.4.2.1.3", v3SHAAES, ctl},
		{"sPDU bulk v2c", "snmpbulkwalk", a7.Addr(), apc + ".4.4.2.1.3", v2cRead, ctl},
		{"rPDU2 numbers bulk v2c", "snmpbulkwalk", a.Addr(), apc + ".26.9.2.3.1.4", v2cRead, numbers},
		{"rPDU2 numbers bulk v3", "snmpbulkwalk", a.Addr(), apc + ".26.9.2.3.1.4", v3SHA256AES256, numbers},
		{"rPDU2 numbers v3 MD5/DES", "snmpwalk", a.Addr(), apc + ".26.9.2.3.1.4", v3MD5DES, numbers},
		{"end of MIB v1", "snmpwalk", a.Addr(), apc + ".26.9.2.4.1.5", v1Read, lastV1},
		{"end of MIB v2c", "snmpwalk", a.Addr(), apc + ".26.9.2.4.1.5", v2cRead, lastV2},
		{"end of MIB bulk v3", "snmpbulkwalk", a.Addr(), apc + ".26.9.2.4.1.5", v3SHAAES, lastV2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := snmp(t, tc.tool, tc.c, tc.addr, tc.root)
			if got.code != 0 || !same(got.stdout, lines(tc.want...)) || got.stderr != "" {
				t.Errorf("got\n%s\nwant stdout\n%s", got, lines(tc.want...))
			}
		})
	}
}

// TestToolsSwitch switches an outlet with every kind of write credentials,
// each through another tree, and watches it: the old state with the command
// pending first, then the new state.
func TestToolsSwitch(t *testing.T) {
	// Long enough that the read right after the SET lands while pending.
	const delay = time.Second
	d := newDevice(t, "ap8941", Options{SwitchDelay: delay, RebootDuration: delay})
	a := listen(t, d, testAccess)
	row := func(n int) int { return int(rPDU2Row(n, 24)) }
	for _, tc := range []struct {
		name     string
		c        cred
		outlet   int
		command  string // OID
		value    string
		state    string // OID of the state object of the same tree
		pending  string // OID of its pending object
		old, new string // the state object before and after
		switches int
		final    power.State
	}{
		{"v1 sPDU off", v1Write, 1, fmt.Sprintf("%s.4.4.2.1.3.1", apc), "2",
			fmt.Sprintf("%s.4.4.2.1.3.1", apc), fmt.Sprintf("%s.4.4.2.1.2.1", apc), "1", "2", 1, power.Off},
		{"v2c rPDU off", v2cWrite, 2, fmt.Sprintf("%s.12.3.3.1.1.4.2", apc), "2",
			fmt.Sprintf("%s.12.3.5.1.1.4.2", apc), fmt.Sprintf("%s.12.3.5.1.1.5.2", apc), "1", "2", 1, power.Off},
		// rPDU2 reads off as 1: inverted.
		{"v3 SHA/AES rPDU2 off", v3SHAAES, 3, fmt.Sprintf("%s.26.9.2.4.1.5.%d", apc, row(3)), "2",
			fmt.Sprintf("%s.26.9.2.3.1.5.%d", apc, row(3)), fmt.Sprintf("%s.26.9.2.3.1.6.%d", apc, row(3)), "2", "1", 1, power.Off},
		{"v3 SHA256/AES256 rPDU2 delayed off", v3SHA256AES256, 4, fmt.Sprintf("%s.26.9.2.4.1.5.%d", apc, row(4)), "6",
			fmt.Sprintf("%s.26.9.2.3.1.5.%d", apc, row(4)), fmt.Sprintf("%s.26.9.2.3.1.6.%d", apc, row(4)), "2", "1", 1, power.Off},
		// A reboot reads off, then on: the poll waits for on.
		{"v3 MD5/DES sPDU reboot", v3MD5DES, 5, fmt.Sprintf("%s.4.4.2.1.3.5", apc), "3",
			fmt.Sprintf("%s.4.4.2.1.3.5", apc), fmt.Sprintf("%s.4.4.2.1.2.5", apc), "1", "1", 2, power.On},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set := snmp(t, "snmpset", tc.c, a.Addr(), tc.command, "i", tc.value)
			if want := lines(tc.command + " = INTEGER: " + tc.value); set.code != 0 || !same(set.stdout, want) {
				t.Fatalf("set:\n%s\nwant stdout\n%s", set, want)
			}
			read := func() string {
				return snmp(t, "snmpget", tc.c, a.Addr(), tc.state, tc.pending).stdout
			}
			if got, want := read(), lines(tc.state+" = INTEGER: "+tc.old, tc.pending+" = INTEGER: 1"); !same(got, want) {
				t.Errorf("right after the SET:\n%s\nwant\n%s", got, want)
			}
			want := lines(tc.state+" = INTEGER: "+tc.new, tc.pending+" = INTEGER: 2")
			eventually(t, 10*delay, func() (bool, string) {
				got := read()
				return same(got, want), fmt.Sprintf("reads\n%s\nwant\n%s", got, want)
			})
			if d.Switches(tc.outlet) != tc.switches || d.OutletState(tc.outlet) != tc.final {
				t.Errorf("outlet %d: %v after %d switches, want %v after %d",
					tc.outlet, d.OutletState(tc.outlet), d.Switches(tc.outlet), tc.final, tc.switches)
			}
		})
	}
}

// TestToolsErrors checks every error a client can meet, with the tools'
// exact words, and that none of the refused SETs did anything.
func TestToolsErrors(t *testing.T) {
	d := newDevice(t, "ap8941", Options{SwitchDelay: -1})
	a := listen(t, d, testAccess)
	addr := a.Addr()
	const (
		ctl1      = apc + ".4.4.2.1.3.1"
		pending1  = apc + ".4.4.2.1.2.1"
		ctl99     = apc + ".4.4.2.1.3.99"
		unknown   = apc + ".4.4.2.1.9.1" // no such column
		pastEnd   = ".1.3.6.1.9"
		noSuchNam = "Reason: (noSuchName) There is no such variable name in this MIB."
		badValue  = "Reason: (badValue) The value given has the wrong type or length."
	)
	failed := func(dot, reason, oid string) string {
		return lines("Error in packet"+dot, reason, "Failed object: "+oid)
	}
	timeout := lines("Timeout: No Response from " + addr + ".")
	wrongAuth := cred{"v3", []string{"-v3", "-l", "authPriv", "-u", "sha-aes", "-a", "SHA", "-A", "not-the-pass", "-x", "AES", "-X", privPass}}
	wrongPriv := cred{"v3", []string{"-v3", "-l", "authPriv", "-u", "sha-aes", "-a", "SHA", "-A", authPass, "-x", "AES", "-X", "not-the-pass"}}
	wrongProto := cred{"v3", []string{"-v3", "-l", "authPriv", "-u", "sha-aes", "-a", "MD5", "-A", authPass, "-x", "AES", "-X", privPass}}
	unknownUser := cred{"v3", []string{"-v3", "-l", "authPriv", "-u", "nobody", "-a", "SHA", "-A", authPass, "-x", "AES", "-X", privPass}}
	tooHigh := cred{"v3", []string{"-v3", "-l", "authPriv", "-u", "sha-only", "-a", "SHA", "-A", authPass, "-x", "AES", "-X", privPass}}
	tooLow := cred{"v3", []string{"-v3", "-l", "authNoPriv", "-u", "sha-aes", "-a", "SHA", "-A", authPass}}

	for _, tc := range []struct {
		name   string
		tool   string
		c      cred
		args   []string
		stdout string
		stderr string
		code   int
	}{
		// SNMPv1
		{"v1 get unknown", "snmpget", v1Read, []string{unknown}, "", failed("", noSuchNam, unknown), 2},
		{"v1 get unknown instance", "snmpget", v1Read, []string{ctl99}, "", failed("", noSuchNam, ctl99), 2},
		{"v1 getnext past the end", "snmpgetnext", v1Read, []string{pastEnd}, "", failed(".", noSuchNam, pastEnd), 2},
		{"v1 set with the read community", "snmpset", v1Read, []string{ctl1, "i", "2"}, "", failed(".", noSuchNam, ctl1), 2},
		{"v1 set read-only", "snmpset", v1Write, []string{pending1, "i", "1"}, "", failed(".", noSuchNam, pending1), 2},
		{"v1 set bad value", "snmpset", v1Write, []string{ctl1, "i", "4"}, "", failed(".", badValue, ctl1), 2},
		{"v1 set wrong type", "snmpset", v1Write, []string{ctl1, "s", "off"}, "", failed(".", badValue, ctl1), 2},
		{"v1 set missing instance", "snmpset", v1Write, []string{ctl99, "i", "2"}, "", failed(".", noSuchNam, ctl99), 2},
		{"v1 wrong community", "snmpget", cred{"v1", []string{"-v1", "-c", "wrong"}}, []string{ctl1}, "", timeout, 1},
		// SNMPv2c
		{"v2c get unknown", "snmpget", v2cRead, []string{unknown}, lines(unknown + " = No Such Object available on this agent at this OID"), "", 0},
		{"v2c get unknown instance", "snmpget", v2cRead, []string{ctl99}, lines(ctl99 + " = No Such Instance currently exists at this OID"), "", 0},
		{"v2c getnext past the end", "snmpgetnext", v2cRead, []string{pastEnd}, lines(pastEnd + " = No more variables left in this MIB View (It is past the end of the MIB tree)"), "", 0},
		{"v2c set with the read community", "snmpset", v2cRead, []string{ctl1, "i", "2"}, "", failed(".", "Reason: noAccess", ctl1), 2},
		{"v2c set read-only", "snmpset", v2cWrite, []string{pending1, "i", "1"}, "", failed(".", "Reason: notWritable (That object does not support modification)", pending1), 2},
		{"v2c set unknown", "snmpset", v2cWrite, []string{unknown, "i", "1"}, "", failed(".", "Reason: notWritable (That object does not support modification)", unknown), 2},
		{"v2c set out of range", "snmpset", v2cWrite, []string{ctl1, "i", "9"}, "", failed(".", "Reason: wrongValue (The set value is illegal or unsupported in some way)", ctl1), 2},
		{"v2c set read-only value", "snmpset", v2cWrite, []string{ctl1, "i", "4"}, "", failed(".", "Reason: wrongValue (The set value is illegal or unsupported in some way)", ctl1), 2},
		{"v2c set wrong type", "snmpset", v2cWrite, []string{ctl1, "s", "off"}, "", failed(".", "Reason: wrongType (The set datatype does not match the data type the agent expects)", ctl1), 2},
		{"v2c set missing instance", "snmpset", v2cWrite, []string{ctl99, "i", "2"}, "", failed(".", "Reason: noCreation (That table does not support row creation or that object can not ever be created)", ctl99), 2},
		{"v2c set name too long", "snmpset", v2cWrite, []string{apc + ".4.5.2.1.3.1", "s", "twenty-one characters"}, "", failed(".", "Reason: wrongLength (The set value has an illegal length from what the agent expects)", apc+".4.5.2.1.3.1"), 2},
		// One bad varbind refuses the whole SET: outlet 1 is not switched.
		{"v2c set half bad", "snmpset", v2cWrite, []string{ctl1, "i", "2", pending1, "i", "1"}, "", failed(".", "Reason: notWritable (That object does not support modification)", pending1), 2},
		{"v2c wrong community", "snmpget", cred{"v2c", []string{"-v2c", "-c", "wrong"}}, []string{ctl1}, "", timeout, 1},
		// SNMPv3
		{"v3 get unknown instance", "snmpget", v3SHAAES, []string{ctl99}, lines(ctl99 + " = No Such Instance currently exists at this OID"), "", 0},
		{"v3 getnext past the end", "snmpgetnext", v3SHA256AES256, []string{pastEnd}, lines(pastEnd + " = No more variables left in this MIB View (It is past the end of the MIB tree)"), "", 0},
		{"v3 set read-only", "snmpset", v3SHAAES, []string{pending1, "i", "1"}, "", failed(".", "Reason: notWritable (That object does not support modification)", pending1), 2},
		{"v3 set out of range", "snmpset", v3MD5DES, []string{ctl1, "i", "9"}, "", failed(".", "Reason: wrongValue (The set value is illegal or unsupported in some way)", ctl1), 2},
		{"v3 wrong auth passphrase", "snmpget", wrongAuth, []string{ctl1}, "", lines("snmpget: Authentication failure (incorrect password, community or key)"), 1},
		{"v3 wrong auth protocol", "snmpget", wrongProto, []string{ctl1}, "", lines("snmpget: Authentication failure (incorrect password, community or key)"), 1},
		// A wrong privacy key decrypts to garbage, which net-snmp drops.
		{"v3 wrong priv passphrase", "snmpget", wrongPriv, []string{ctl1}, "", timeout, 1},
		{"v3 unknown user", "snmpget", unknownUser, []string{ctl1}, "", lines("snmpget: Unknown user name"), 1},
		{"v3 level above the user's", "snmpget", tooHigh, []string{ctl1}, "", lines("snmpget: Unsupported security level"), 1},
		{"v3 level below the user's", "snmpget", tooLow, []string{ctl1}, "", lines("Error in packet", "Reason: authorizationError (access denied to that object)"), 2},
		{"v3 set below the user's level", "snmpset", tooLow, []string{ctl1, "i", "2"}, "", lines("Error in packet.", "Reason: authorizationError (access denied to that object)"), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := snmp(t, tc.tool, tc.c, addr, tc.args...)
			if got.code != tc.code || !same(got.stdout, tc.stdout) || !same(got.stderr, tc.stderr) {
				t.Errorf("got\n%s\nwant exit %d\nstdout:\n%sstderr:\n%s", got, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
	t.Cleanup(func() {
		for n := 1; n <= d.Outlets(); n++ {
			if d.Switches(n) != 0 || d.OutletState(n) != power.On {
				t.Errorf("a refused request switched outlet %d: %v, %d switches", n, d.OutletState(n), d.Switches(n))
			}
		}
		if d.OutletName(1) != "Outlet 1" {
			t.Errorf("a refused request renamed outlet 1 to %q", d.OutletName(1))
		}
	})
}

// TestToolsRecordings serves both real recordings, walks them whole with
// snmpwalk and compares with the files, then switches an outlet of each.
func TestToolsRecordings(t *testing.T) {
	for _, tc := range []struct {
		file          string
		outlet        int
		name          string
		followers     []string // objects in other trees that must follow
		followerValue string
	}{
		{"apc-ap7900-aos374.snmprec", 3, "Outlet 3", []string{apc + ".12.3.5.1.1.4.3", apc + ".12.3.3.1.1.4.3"}, "2"},
		{"apc-ap7900b-aos682.snmprec", 2, "opnSense PSU", nil, ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := recording(t, tc.file)
			d, err := Load(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			a := listen(t, d, testAccess)

			// The reference: the file itself, read independently of the
			// store.
			objects, err := readSnmprecFile(path)
			if err != nil {
				t.Fatal(err)
			}
			walk := snmp(t, "snmpwalk", v2cRead, a.Addr(), ".1")
			if walk.code != 0 || walk.stderr != "" {
				t.Fatalf("snmpwalk:\n%s", walk)
			}
			got := parseWalk(walk.stdout)
			if len(got.order) != len(objects) {
				t.Errorf("walked %d objects, the file has %d", len(got.order), len(objects))
			}
			compared := 0
			for i, o := range objects {
				if i < len(got.order) && got.order[i] != o.name {
					t.Errorf("object %d of the walk is %s, want %s: out of OID order", i, got.order[i], o.name)
					break
				}
				want, ok := netSNMPText(o.value)
				if !ok || o.oid.compare(sysUpTime) == 0 {
					continue // not printed as plain text, or live
				}
				compared++
				if got.values[o.name] != want {
					t.Errorf("%s = %s, the file says %s", o.name, got.values[o.name], want)
				}
			}
			if compared < len(objects)/2 {
				t.Errorf("compared only %d of %d values", compared, len(objects))
			}

			ctl := fmt.Sprintf("%s.4.4.2.1.3.%d", apc, tc.outlet)
			name := fmt.Sprintf("%s.4.4.2.1.4.%d", apc, tc.outlet)
			if got := snmp(t, "snmpget", v2cRead, a.Addr(), name); !same(got.stdout, name+` = STRING: "`+tc.name+`"`) {
				t.Errorf("outlet name:\n%s", got)
			}
			if set := snmp(t, "snmpset", v2cWrite, a.Addr(), ctl, "i", "2"); set.code != 0 {
				t.Fatalf("switching off:\n%s", set)
			}
			eventually(t, 5*time.Second, func() (bool, string) {
				got := snmp(t, "snmpget", v2cRead, a.Addr(), append([]string{ctl}, tc.followers...)...).stdout
				want := []string{ctl + " = INTEGER: 2"}
				for _, f := range tc.followers {
					want = append(want, f+" = INTEGER: "+tc.followerValue)
				}
				return same(got, lines(want...)), fmt.Sprintf("reads\n%s\nwant\n%s", got, lines(want...))
			})
			if d.Switches(tc.outlet) != 1 {
				t.Errorf("%d switches, want 1", d.Switches(tc.outlet))
			}
		})
	}
}

// walked is snmpwalk's output: the OIDs in order and their printed values.
type walked struct {
	order  []string
	values map[string]string
}

func parseWalk(out string) walked {
	w := walked{values: make(map[string]string)}
	for _, line := range strings.Split(out, "\n") {
		name, val, ok := strings.Cut(line, " = ")
		if !ok || !strings.HasPrefix(name, ".") || strings.Trim(name, ".0123456789") != "" {
			continue // a continuation line of a long value
		}
		if strings.HasPrefix(val, "No more variables left in this MIB View") {
			continue // where the walk ran into the end of the MIB
		}
		w.order = append(w.order, name)
		w.values[name] = val
	}
	return w
}

// netSNMPText is how net-snmp's tools print a value with -On and no MIBs,
// for the values printed on one line as plain text.
func netSNMPText(v value) (string, bool) {
	switch x := v.v.(type) {
	case int:
		return fmt.Sprintf("INTEGER: %d", x), true
	case uint32:
		switch v.typ {
		case 0x41:
			return fmt.Sprintf("Counter32: %d", x), true
		case 0x42:
			return fmt.Sprintf("Gauge32: %d", x), true
		}
	case uint64:
		return fmt.Sprintf("Counter64: %d", x), true
	case string:
		return "OID: " + x, true
	case []byte:
		if v.typ == 0x40 && len(x) == 4 {
			return fmt.Sprintf("IpAddress: %d.%d.%d.%d", x[0], x[1], x[2], x[3]), true
		}
		if v.typ != 0x04 || len(x) == 0 {
			return "", false
		}
		for _, c := range x {
			if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				return "", false
			}
		}
		return `STRING: "` + string(x) + `"`, true
	}
	return "", false
}

// readSnmprecFile reads a recording as the reference for a walk: its
// objects in OID order.
func readSnmprecFile(path string) ([]*object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	objects, err := readSnmprec(f, path)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(objects, func(a, b *object) int { return a.oid.compare(b.oid) })
	return objects, nil
}
