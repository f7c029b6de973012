package servestore

import (
	"errors"
	"os"
)

// createdFiles are the files a start is about to create (those absent before it), so that a start
// that fails can remove them again and leave nothing behind.
type createdFiles []string

// newCreatedFiles keeps those of paths that do not exist yet; empty paths are skipped.
func newCreatedFiles(paths ...string) createdFiles {
	var absent createdFiles
	for _, p := range paths {
		if p == "" {
			continue
		}
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) { // #nosec G703 -- the operator's own -db and -key-file paths
			absent = append(absent, p)
		}
	}
	return absent
}

// remove deletes the files that did not exist before the start.
func (c createdFiles) remove() {
	for _, p := range c {
		_ = os.Remove(p)
	}
}
