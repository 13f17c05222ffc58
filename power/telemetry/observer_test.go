package telemetry

import "testing"

func TestShutdownReasons(t *testing.T) {
	for _, tc := range []struct{ reason, want string }{
		{"request unreachable in 3ms: dial tcp 10.0.0.7:22: connect: no route to host", "unreachable"},
		{"dial tcp 10.0.0.7:22: connect: connection refused", "unreachable"},
		{"ssh: handshake failed: knownhosts: key mismatch", "host-key"},
		{"request host-key in 40ms: the host key of bigboy.maas changed", "host-key"},
		{"ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey]", "auth"},
		{"request requested in 412ms, wait timeout in 2m0s: context deadline exceeded", "timeout"},
		{"wait cancelled in 3s: context canceled", "cancelled"},
		{"the shutdown command exited with status 1", "other"},
		{"", "other"},
	} {
		if got := shutdownReason(tc.reason); got != tc.want {
			t.Errorf("shutdownReason(%q) = %q, want %q", tc.reason, got, tc.want)
		}
	}
}
