package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// checkHeads reports the first difference between heads/ and the earliest entry of each
// subscription in due/ (tests; the migration's proof).
func checkHeads(tx *bbolt.Tx) error {
	x := openDueIndex(tx)
	want := map[string]time.Time{}
	c := x.due.Cursor()
	for k, _ := c.First(); k != nil; {
		if len(k) < 2 {
			return fmt.Errorf("malformed due key %x", k)
		}
		prefix := bytes.Clone(k[:2+int(binary.BigEndian.Uint16(k))])
		at, _, ok := parseDueEntry(prefix, k)
		if !ok {
			return fmt.Errorf("malformed due key %x", k)
		}
		want[string(headKey(at, prefix))] = at
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		}
	}
	got := 0
	err := x.heads.ForEach(func(k, _ []byte) error {
		if _, ok := want[string(k)]; !ok {
			return fmt.Errorf("head %x has no earliest due entry", k)
		}
		got++
		return nil
	})
	if err == nil && got != len(want) {
		err = fmt.Errorf("%d heads for %d subscriptions with due entries", got, len(want))
	}
	return err
}
