package bolt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// compactTxSize is how many bytes of keys and values Compact copies in one transaction of the new
// file, so that a large file is not copied in one transaction held in memory.
const compactTxSize = 64 << 20

// Compacted is what Compact did: the file's size before and after.
type Compacted struct {
	Before, After int64
}

// String is the two sizes for people, "BEFORE → AFTER", each in MB, or kB below one MB.
func (c Compacted) String() string {
	return fileSize(c.Before) + " → " + fileSize(c.After)
}

// fileSize renders a file's size for people: MB, or kB below one MB.
func fileSize(n int64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// Compact gives a bbolt file's free pages back to the file system: bbolt's own compaction copies
// every bucket, key and value (nothing else) into a new file beside it, each page filled, which
// then takes the old file's place by a rename in the same directory, so the path holds either the
// old file or the whole new one, never a part. The key file is not read or touched: sealed values
// are copied as they are, and the new file opens with the same key.
//
// It is offline: it takes the file's lock first, waiting at most timeout (zero: DefaultTimeout),
// and holds it until the new file is in place, so it refuses while a connector (or another
// compaction) holds the file, and no connector opens the old file meanwhile. Errors: the busy file
// (bbolt's ErrTimeout, saying so); state.ErrSchemaVersion when the file is not a connector's
// database (no schema version); a damaged file, which bbolt's consistency check (or its copy) finds
// inconsistent; a file that does not exist; I/O errors, after which the old file is
// as it was and the new one is removed.
func Compact(path string, timeout time.Duration) (Compacted, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	info, err := os.Stat(path)
	if err != nil {
		return Compacted{}, fmt.Errorf("compact %s: %w", path, err)
	}
	var src *bbolt.DB
	err = refusingDamage(func() (err error) {
		src, err = openAtPath(path, info.Mode().Perm(), &bbolt.Options{Timeout: timeout})
		return err
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return Compacted{}, fmt.Errorf("compact %s: another process holds the database (a running connector?); "+
			"stop it first: compaction is offline: %w", path, err)
	}
	if err != nil {
		return Compacted{}, fmt.Errorf("compact %s: %w", path, err)
	}
	defer src.Close()
	if err := refusingDamage(func() error { return src.View(checkConnectorFile) }); err != nil {
		return Compacted{}, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := refusingDamage(func() error { return src.View(checkPages) }); err != nil {
		return Compacted{}, fmt.Errorf("compact %s: %w", path, err)
	}
	tmp := path + ".compacting"
	if err := refusingDamage(func() error { return compactInto(src, tmp, info.Mode().Perm()) }); err != nil {
		_ = os.Remove(tmp)
		return Compacted{}, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return Compacted{}, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return Compacted{}, fmt.Errorf("compact %s: the new file is in place, but its directory did not sync: %w", path, err)
	}
	after, err := os.Stat(path)
	if err != nil {
		return Compacted{}, fmt.Errorf("compact %s: %w", path, err)
	}
	return Compacted{Before: info.Size(), After: after.Size()}, nil
}

// checkConnectorFile refuses a file without the connector's schema version: compacting someone
// else's bbolt file by mistake would rewrite it.
func checkConnectorFile(tx *bbolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil || meta.Get(keySchemaVersion) == nil {
		return fmt.Errorf("%w: not a hipchat-connector database (no schema version)", state.ErrSchemaVersion)
	}
	return nil
}

// compactInto copies src into a new bbolt file at path (replacing a leftover of a compaction that
// stopped half-way), committed and synced.
func compactInto(src *bbolt.DB, path string, mode os.FileMode) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	dst, err := bbolt.Open(path, mode, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			_ = dst.Close()
			panic(r) // refusingDamage's to report
		}
	}()
	if err := bbolt.Compact(dst, src, compactTxSize); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 -- the directory of the database the operator named
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// FileStats are the bbolt file's size on disk and what fills it: pages of live data, and free
// pages (left by deleted or rewritten data; later writes reuse them). The rest, up to 16 MB, is room
// bbolt allocated ahead at the end. Compact gives the free pages and that room back.
type FileStats struct {
	Size      int64 // the file's size
	UsedBytes int64 // its pages of live data
	FreeBytes int64 // its free pages
}

// FileStats reports the file's size, live and free bytes. Errors: the file cannot be stat'ed.
func (s *Store) FileStats() (FileStats, error) {
	info, err := os.Stat(s.db.Path())
	if err != nil {
		return FileStats{}, fmt.Errorf("state: file stats: %w", err)
	}
	st := FileStats{Size: info.Size()}
	err = s.db.View(func(tx *bbolt.Tx) error {
		db := s.db.Stats()
		st.FreeBytes = int64(db.FreePageN+db.PendingPageN) * int64(s.db.Info().PageSize)
		st.UsedBytes = tx.Size() - st.FreeBytes
		return nil
	})
	if err != nil {
		return FileStats{}, wrapTx("file stats", err)
	}
	return st, nil
}
