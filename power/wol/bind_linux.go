package wol

import (
	"fmt"
	"syscall"
)

// bindToDevice makes a socket send by the named interface only.
func bindToDevice(name string) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, name)
		}); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("sending by interface %s: %w", name, serr)
		}
		return nil
	}
}
