package pdusim

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// readSnmprec reads a recording in the .snmprec format of snmpsim and
// LibreNMS: one instance a line, OID|TAG|VALUE, TAG being the BER tag in
// decimal, with an "x" suffix when VALUE is hex-encoded. Errors name
// name:line.
func readSnmprec(r io.Reader, name string) ([]*object, error) {
	var objects []*object
	seen := make(map[string]int)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		o, err := parseSnmprecLine(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if first, dup := seen[o.name]; dup {
			return nil, fmt.Errorf("%s:%d: OID %s already given on line %d", name, line, o.name, first)
		}
		seen[o.name] = line
		objects = append(objects, o)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(objects) == 0 {
		return nil, fmt.Errorf("%s: no objects", name)
	}
	return objects, nil
}

func parseSnmprecLine(text string) (*object, error) {
	// The value is the rest of the line, spaces and bars included: APC's
	// sysDescr ends in a space that must survive.
	fields := strings.SplitN(text, "|", 3)
	if len(fields) != 3 {
		return nil, fmt.Errorf("want OID|TYPE|VALUE, got %q", text)
	}
	o, err := parseOID(fields[0])
	if err != nil {
		return nil, err
	}
	tag, text := fields[1], fields[2]
	if t, module, ok := strings.Cut(tag, ":"); ok {
		if text, err = variation(module, text); err != nil {
			return nil, fmt.Errorf("%s: type %q: %w", o, tag, err)
		}
		tag = t
	}
	v, err := parseSnmprecValue(tag, text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o, err)
	}
	return newObject(o, v), nil
}

// variation reads the options of an snmpsim variation line
// (OID|TYPE:MODULE|options), as publishers of recordings write them, and
// returns the value the device had. Two modules are understood:
// writecache (value=V: a writable value, served as recorded) and numeric
// (…,initial=N,…: a number that changes on every read, served as its
// initial value, or min= if it has none). Any other module is refused:
// what it would answer cannot be known from the file.
func variation(module, options string) (string, error) {
	switch module {
	case "writecache":
		// The value is the rest of the options: a name may hold commas.
		if v, ok := strings.CutPrefix(options, "value="); ok {
			return v, nil
		}
		for _, opt := range strings.Split(options, ",") {
			if v, ok := strings.CutPrefix(opt, "value="); ok {
				return v, nil
			}
		}
		return "", fmt.Errorf("snmpsim's writecache without value=: the recorded value is missing")
	case "numeric":
		opts := map[string]string{}
		for _, opt := range strings.Split(options, ",") {
			k, v, _ := strings.Cut(opt, "=")
			opts[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		for _, k := range []string{"initial", "min"} {
			if v, ok := opts[k]; ok {
				return v, nil
			}
		}
		return "", fmt.Errorf("snmpsim's numeric without initial= or min=: no value to serve")
	}
	return "", fmt.Errorf("snmpsim variation module %q is not understood (only writecache and numeric are); replace the line with a plain OID|TYPE|VALUE", module)
}

// parseSnmprecValue reads one snmprec value of type tag. Over 60 lines, it
// is one table of the snmprec type tags, which reads better whole.
func parseSnmprecValue(tag, text string) (value, error) {
	hexed := strings.HasSuffix(tag, "x")
	raw := text
	if hexed {
		tag = strings.TrimSuffix(tag, "x")
		b, err := hex.DecodeString(text)
		if err != nil {
			return value{}, fmt.Errorf("type %sx: value %q is not hex", tag, text)
		}
		raw = string(b)
	}
	switch gosnmp.Asn1BER(atoiOr(tag, -1)) {
	case gosnmp.OctetString:
		return value{gosnmp.OctetString, []byte(raw)}, nil
	case gosnmp.Opaque:
		return value{gosnmp.Opaque, []byte(raw)}, nil
	case gosnmp.IPAddress:
		if hexed {
			if len(raw) != 4 {
				return value{}, fmt.Errorf("type 64x: want 4 bytes, got %d", len(raw))
			}
			return value{gosnmp.IPAddress, []byte(raw)}, nil
		}
		a, err := netip.ParseAddr(raw)
		if err != nil || !a.Is4() {
			return value{}, fmt.Errorf("type 64: %q is not an IPv4 address", raw)
		}
		return ipAddress(a.As4()), nil
	}
	if hexed {
		return value{}, fmt.Errorf("type %sx: only OCTET STRING (4), IpAddress (64) and Opaque (68) may be hex-encoded", tag)
	}
	switch t := gosnmp.Asn1BER(atoiOr(tag, -1)); t {
	case gosnmp.Integer:
		n, err := strconv.ParseInt(raw, 10, 32)
		if err != nil {
			return value{}, fmt.Errorf("type 2: %q is not a 32-bit integer", raw)
		}
		return integer(int(n)), nil
	case gosnmp.Null:
		return value{gosnmp.Null, nil}, nil
	case gosnmp.ObjectIdentifier:
		o, err := parseOID(raw)
		if err != nil {
			return value{}, fmt.Errorf("type 6: %w", err)
		}
		return value{gosnmp.ObjectIdentifier, o.String()}, nil
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks:
		n, err := strconv.ParseUint(raw, 10, 32)
		if err != nil {
			return value{}, fmt.Errorf("type %d: %q is not an unsigned 32-bit number", t, raw)
		}
		return value{t, uint32(n)}, nil
	case gosnmp.Counter64:
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return value{}, fmt.Errorf("type 70: %q is not an unsigned 64-bit number", raw)
		}
		return counter64(n), nil
	}
	return value{}, fmt.Errorf("unknown type %q (want 2, 4, 4x, 5, 6, 64, 64x, 65, 66, 67, 68x or 70)", tag)
}

// atoiOr is strconv.Atoi with a fallback, for tags where any non-number is
// simply an unknown tag.
func atoiOr(s string, fallback int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fallback
	}
	return n
}
