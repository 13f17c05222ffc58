package config

import (
	"errors"
	"fmt"
	"strings"
)

// ReadSecretFile reads a one-line secret (a token, a password, a passphrase,
// an API key) from the file at path. It is the one way powerbridge reads a
// secret from a file: the config's *_file keys, `serve`, `maas sync`,
// `power --token-file` and the gateway's api_key_file.
//
// The file must be a regular file of at most maxSecretFile bytes (ReadFile):
// /dev/zero, a FIFO or a log file given by mistake is an error, not a read
// that never ends or fills memory. A trailing line break is dropped; an empty file or
// one of several lines is an error. Errors name the file, never its content.
func ReadSecretFile(path string) (string, error) {
	data, err := ReadFile(path, maxSecretFile)
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
