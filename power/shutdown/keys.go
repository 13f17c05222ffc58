package shutdown

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

// LoadKey reads a private key in OpenSSH or PEM format. An encrypted key
// needs passphraseFile, whose content (less one trailing newline) is the
// passphrase; for a key that is not encrypted passphraseFile is ignored and
// may be empty. Errors name the file, never the passphrase.
func LoadKey(keyFile, passphraseFile string) (ssh.Signer, error) {
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading ssh key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return signer, nil
	case errors.As(err, &missing) && passphraseFile == "":
		return nil, fmt.Errorf("loading ssh key %s: the key is encrypted and no passphrase file is given", keyFile)
	case errors.As(err, &missing):
		// Go on below with the passphrase.
	case isPublicKey(data):
		return nil, fmt.Errorf("loading ssh key %s: this is a public key; give the private key", keyFile)
	default:
		return nil, fmt.Errorf("loading ssh key %s: %w", keyFile, err)
	}

	pass, err := os.ReadFile(passphraseFile)
	if err != nil {
		return nil, fmt.Errorf("loading ssh key %s: reading the passphrase: %w", keyFile, err)
	}
	// Files written by editors and `echo` end in a newline that is not part
	// of the passphrase.
	pass = []byte(strings.TrimSuffix(strings.TrimSuffix(string(pass), "\n"), "\r"))
	signer, err = ssh.ParsePrivateKeyWithPassphrase(data, pass)
	switch {
	case errors.Is(err, x509.IncorrectPasswordError):
		return nil, fmt.Errorf("loading ssh key %s: wrong passphrase in %s", keyFile, passphraseFile)
	case err != nil:
		return nil, fmt.Errorf("loading ssh key %s with the passphrase in %s: %w", keyFile, passphraseFile, err)
	}
	return signer, nil
}

func isPublicKey(data []byte) bool {
	_, _, _, _, err := ssh.ParseAuthorizedKey(data)
	return err == nil
}
