package bolt

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// dropFromPageCache asks Linux to drop path's pages from the page cache, so that the next open
// reads it from disk.
func dropFromPageCache(tb testing.TB, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		tb.Fatal(err)
	}
	return true
}
