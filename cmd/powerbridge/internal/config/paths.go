package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// validatePaths checks the paths the running service writes to, so that a
// file serve would refuse or run without (its journal and pinned host keys
// silently off) is refused by check-config and by serve alike.
func (f *File) validatePaths(s section) {
	if err := CheckStateDir(f.StateDir); err != nil {
		s.field("state_dir").errorf("%v", err)
	}
	if f.AuditLog != "" {
		if err := CheckAuditLog(f.AuditLog); err != nil {
			s.field("audit_log").errorf("%v", err)
		}
	}
}

// CheckStateDir reports whether serve can keep its state in dir: dir is a
// directory it can write to, or one it can create (serve creates it, mode
// 0700) under the nearest directory that exists. Nothing is created here.
func CheckStateDir(dir string) error {
	if dir == "" {
		return fmt.Errorf("required: the directory for the switching journal and pinned ssh host keys (default %s)", DefaultStateDir)
	}
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case err == nil:
		return writable(dir, "")
	case !missing(err):
		return err
	}
	// The nearest directory that exists must let serve create the rest.
	for parent := filepath.Dir(dir); ; parent = filepath.Dir(parent) {
		fi, err := os.Stat(parent)
		switch {
		case err == nil && !fi.IsDir():
			return fmt.Errorf("%s cannot be created: %s is not a directory", dir, parent)
		case err == nil:
			return writable(parent, dir+" cannot be created: ")
		case !missing(err):
			return err
		}
		if parent == filepath.Dir(parent) {
			return fmt.Errorf("%s cannot be created: no directory above it exists", dir)
		}
	}
}

// CheckAuditLog reports whether serve can append to the audit log at path:
// a regular file it can write to, or one it can create in a directory that
// exists (serve creates the file, not the directory). A FIFO or a device is
// refused: opening a FIFO for writing waits for a reader.
func CheckAuditLog(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("%s is %s; want a regular file to append to", path, modeName(fi.Mode()))
	case err == nil:
		if err := syscall.Access(path, accessWrite); err != nil {
			return fmt.Errorf("%s is not writable by this user (uid %d): %w", path, os.Getuid(), err)
		}
		return nil
	case !missing(err):
		return err
	}
	dir := filepath.Dir(path)
	fi, err = os.Stat(dir)
	switch {
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%s cannot be created: %s is not a directory", path, dir)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s cannot be created: the directory %s does not exist", path, dir)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s cannot be created: %s is not a directory", path, dir)
	}
	return writable(dir, path+" cannot be created: ")
}

// missing reports whether a stat error means the path does not exist, a
// file in its way included (ENOTDIR): the search goes on further up.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Access modes of access(2).
const (
	accessWrite  = 0x2
	accessSearch = 0x1
)

// writable reports whether this process can create files in dir; prefix
// goes before the message.
func writable(dir, prefix string) error {
	if err := syscall.Access(dir, accessWrite|accessSearch); err != nil {
		return fmt.Errorf("%s%s is not writable by this user (uid %d): %w", prefix, dir, os.Getuid(), err)
	}
	return nil
}
