package config

import "net"

// ExampleTLSListen is the address the docs and errors suggest for
// tls_listen.
const ExampleTLSListen = "0.0.0.0:8443"

// validateTLSListen checks tls_listen, s: a host:port of its own, apart
// from listen's.
func (f *File) validateTLSListen(s section) {
	if f.TLSListen == "" {
		return
	}
	host, port, err := net.SplitHostPort(f.TLSListen)
	if err != nil {
		s.errorf("%q is not host:port (e.g. %s)", f.TLSListen, ExampleTLSListen)
		return
	}
	if lh, lp, err := net.SplitHostPort(f.Listen); err == nil && port == lp && port != "0" && (host == lh || isAny(host) || isAny(lh)) {
		s.errorf("%q takes listen's port (%s); give the TLS listener a port of its own (e.g. %s)", f.TLSListen, f.Listen, ExampleTLSListen)
	}
	if f.PDUDaemon != nil && (f.PDUDaemon.Listen == f.TLSListen || f.PDUDaemon.Listen == "" && f.TLSListen == DefaultPDUDaemonListen) {
		s.errorf("%q is pdudaemon.listen's address too; give the TLS listener a port of its own (e.g. %s)", f.TLSListen, ExampleTLSListen)
	}
}

// isAny tells whether host listens on every address.
func isAny(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || ip != nil && ip.IsUnspecified()
}
