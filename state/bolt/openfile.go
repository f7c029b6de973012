package bolt

import (
	"errors"
	"fmt"
	"os"

	bbolt "go.etcd.io/bbolt"
)

// openAtPath opens the bbolt file at path as bbolt.Open does, and makes sure the file it locked is
// still the one at path. bbolt opens the file and then waits for its lock; Compact renames a new file
// over the path while it holds that lock, so an open that waited through a compaction would
// otherwise get the lock of the old, unlinked file and write where no later start looks. Such an
// open is closed and made again, at most a few times.
func openAtPath(path string, mode os.FileMode, opts *bbolt.Options) (*bbolt.DB, error) {
	for range 3 {
		before, statErr := os.Stat(path)
		db, err := bbolt.Open(path, mode, opts)
		if err != nil {
			return nil, err
		}
		if errors.Is(statErr, os.ErrNotExist) {
			return db, nil // created by this open: no compaction can have replaced it
		}
		after, err := os.Stat(path)
		if err == nil && statErr == nil && os.SameFile(before, after) {
			return db, nil
		}
		_ = db.Close()
	}
	return nil, fmt.Errorf("%s was replaced while opening it, again and again (a compaction running?)", path)
}
