package bolt

import (
	"fmt"
	"io"

	bbolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the whole database file to w while the store keeps serving:
// one bbolt read transaction (Tx.WriteTo), so writers go on and the copy is the state as of its
// start. The copy opens as a database of its own, with the same key. It returns the bytes written.
//
// Errors: those of w (a client that went away), a failing read of the file.
func (s *Store) Backup(w io.Writer) (int64, error) {
	return s.BackupSized(func(int64) {}, w)
}

// BackupSized is Backup that first tells size the copy's length in bytes (Tx.Size), before
// writing, so an HTTP answer can carry Content-Length.
func (s *Store) BackupSized(size func(int64), w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		size(tx.Size())
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("state: backup: %w", err)
	}
	return n, nil
}
