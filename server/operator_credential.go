package server

import (
	"fmt"
	"os"
	"strings"
)

// ReadOperatorCredential returns the operator credential of the /admin/ routes (Options.AdminToken):
// inline when it is set (the credential itself, as the variable inlineName gives it), else the
// content of file without surrounding white space, else "" (no operator routes). fileName names the
// file's setting in errors. Errors: both given; a blank credential; a file that cannot be read, is
// empty, or is readable by group or others; a credential shorter than MinOperatorCredential,
// naming where it came from. The credential is never in an error.
func ReadOperatorCredential(inline, inlineName, file, fileName string) (string, error) {
	switch {
	case inline != "" && file != "":
		return "", fmt.Errorf("%s and %s: give one of them", fileName, inlineName)
	case inline != "":
		token := strings.TrimSpace(inline)
		if token == "" {
			return "", fmt.Errorf("%s: the operator credential is blank", inlineName)
		}
		return token, checkOperatorCredential(token, inlineName)
	case file == "":
		return "", nil
	}
	info, err := os.Stat(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fileName, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s %s: mode %04o lets group or others read the operator credential; chmod 600 it",
			fileName, file, info.Mode().Perm())
	}
	raw, err := os.ReadFile(file) // #nosec G304 -- the operator's own setting
	if err != nil {
		return "", fmt.Errorf("%s: %w", fileName, err)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return "", fmt.Errorf("%s %s: the file is empty", fileName, file)
	}
	return token, checkOperatorCredential(token, fileName+" "+file)
}

// MinOperatorCredential is the shortest operator credential accepted.
const MinOperatorCredential = 16

// checkOperatorCredential refuses a credential too short to resist guessing, naming its source
// (never the credential).
func checkOperatorCredential(token, source string) error {
	if len(token) < MinOperatorCredential {
		return fmt.Errorf("%s: the operator credential must be at least %d characters (e.g. openssl rand -hex 32)", source, MinOperatorCredential)
	}
	return nil
}
