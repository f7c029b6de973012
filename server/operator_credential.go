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
// empty, or is readable by group or others. The credential is never in an error.
func ReadOperatorCredential(inline, inlineName, file, fileName string) (string, error) {
	switch {
	case inline != "" && file != "":
		return "", fmt.Errorf("%s and %s: give one of them", fileName, inlineName)
	case inline != "":
		token := strings.TrimSpace(inline)
		if token == "" {
			return "", fmt.Errorf("%s: the operator credential is blank", inlineName)
		}
		return token, nil
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
	return token, nil
}
