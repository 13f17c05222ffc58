package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ReadSecretFile reads a one-line secret (a token, a password, a passphrase,
// an API key) from the file at path. It is the one way powerbridge reads a
// secret from a file: the config's *_file keys, `serve`, `maas sync`,
// `power --token-file` and the gateway's api_key_file.
//
// The file must be a regular file of at most maxSecretFile bytes: /dev/zero,
// a FIFO or a log file given by mistake is an error, not a read that never
// ends or fills memory. A trailing line break is dropped; an empty file or
// one of several lines is an error. Errors name the file, never its content.
func ReadSecretFile(path string) (string, error) {
	if fi, err := os.Stat(path); err == nil && (!fi.Mode().IsRegular() || fi.Size() > maxSecretFile) {
		return "", fmt.Errorf("%s is not a secret file: want a regular file of at most %d bytes", path, maxSecretFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(data), "\r\n")
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", errors.New(path + " holds more than one line; it should hold the secret alone")
	}
	return s, nil
}
