//go:build !linux

package wol

import (
	"fmt"
	"syscall"
)

// bindToDevice is Linux's SO_BINDTODEVICE, which other systems lack.
func bindToDevice(name string) func(network, address string, c syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error {
		return fmt.Errorf("sending by interface %s: only supported on Linux; leave interface out and give a directed broadcast address", name)
	}
}
