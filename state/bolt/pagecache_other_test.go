//go:build !linux

package bolt

import "testing"

// dropFromPageCache is Linux's only.
func dropFromPageCache(testing.TB, string) bool { return false }
