package bench

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
)

// MAASApcOID is the object MAAS's apc driver reads and writes for outlet n
// with its default pdu_type (rPDU): rPDUOutletControlOutletCommand.n.
func MAASApcOID(n int) string { return ".1.3.6.1.4.1.318.1.1.12.3.3.1.1.4." + strconv.Itoa(n) }

// maasApcState is how MAAS's apc driver reads snmpget's answer.
var maasApcState = regexp.MustCompile(`INTEGER:\s*([1-2])`)

// MAASApcQuery queries outlet n of the PDU at addr the way MAAS's apc
// driver does: one `snmpget -c private -v1 ADDRESS OID` process, its output
// searched for the state. It returns "on" or "off".
func MAASApcQuery(ctx context.Context, addr string, n int) (string, error) {
	out, err := exec.CommandContext(ctx, "snmpget", "-c", "private", "-v1", addr, MAASApcOID(n)).Output()
	if err != nil {
		return "", fmt.Errorf("snmpget outlet %d: %w", n, err)
	}
	m := maasApcState.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("snmpget outlet %d: no state in %q", n, out)
	}
	if string(m[1]) == "1" {
		return "on", nil
	}
	return "off", nil
}
