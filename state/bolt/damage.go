package bolt

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	bbolt "go.etcd.io/bbolt"
)

// errDamaged is the answer of Open and Compact for a file bbolt finds inconsistent.
var errDamaged = errors.New("the file is damaged; it was left as it is: restore it from a backup (bbolt check shows the damage)")

// maxDamageReported is how many of the consistency check's findings an error lists; a torn file
// can have thousands.
const maxDamageReported = 5

// refusingDamage runs fn, turning a panic of bbolt over an inconsistent page (it asserts rather
// than returning errors) into errDamaged. A page number past the end of the file makes bbolt read
// outside the file's mapping, a fault that kills the process unless the goroutine asked for a
// panic instead: fn's goroutine asks for the time it runs.
func refusingDamage(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (%v)", errDamaged, r)
		}
	}()
	return fn()
}

// checkPages finds a damaged page before anything reads or writes it: it reads the file's pages in
// use in order (readAhead), then every branch and leaf page of every bucket in the calling
// goroutine (under refusingDamage, so that a page past the end of the file is a panic there), then
// runs bbolt's consistency check over the whole file (the freelist against the pages in use, and
// the order of keys). For a file of 100 MB that is 0.1–0.15 s in the page cache, up to 0.19 s from
// disk (BENCHMARKS.md). Errors: errDamaged with the first of the check's findings.
func checkPages(tx *bbolt.Tx) error {
	readAhead(tx.DB().Path(), tx.Size()) // the pages in use, not the free space the file grew by
	_ = tx.ForEach(func(_ []byte, b *bbolt.Bucket) error {
		readPages(b)
		return nil
	})
	var found []error
	more := 0
	for err := range tx.Check() {
		if len(found) == maxDamageReported {
			more++
			continue
		}
		found = append(found, err)
	}
	if more > 0 {
		found = append(found, fmt.Errorf("and %d more", more))
	}
	if len(found) > 0 {
		return fmt.Errorf("%w: %w", errDamaged, errors.Join(found...))
	}
	return nil
}

// readPages walks every key of b and of the buckets in it, which reads each of their branch and
// leaf pages.
func readPages(b *bbolt.Bucket) {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil {
			continue
		}
		if child := b.Bucket(k); child != nil {
			readPages(child)
		}
	}
}

// readAhead reads the first n bytes of the file at path once, in order, so that checkPages's page
// reads come from the page cache: from disk, 100 MB read in order takes 0.15 s, page by page as the
// check walks them 2 s. A file it cannot read is left to the check's error.
func readAhead(path string, n int64) {
	f, err := os.Open(path) // #nosec G304 -- the operator's own -db
	if err != nil {
		return
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for read := int64(0); read < n; {
		m, err := f.Read(buf[:min(int64(len(buf)), n-read)])
		if err != nil {
			return // io.EOF, or an error the check meets too
		}
		read += int64(m)
	}
}
