package bolt

import (
	"encoding/json"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// CountByStatus returns how many subscriptions have each status (StatusActive, StatusPaused,
// StatusSuspended, StatusDisabled); every status is present, with 0 when none has it. It reads
// only the status of each record and unseals nothing, so a metrics scrape can call it.
//
// Errors: a record that does not decode (a corrupt file).
func (s *Store) CountByStatus() (map[state.Status]int, error) {
	counts := map[state.Status]int{state.StatusActive: 0, state.StatusPaused: 0, state.StatusSuspended: 0, state.StatusDisabled: 0}
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketSubscriptions).ForEach(func(k, v []byte) error {
			var rec struct {
				Status state.Status `json:"status"`
			}
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode subscription %q: %w", k, err)
			}
			counts[rec.Status]++
			return nil
		})
	})
	if err != nil {
		return nil, wrapTx("count subscriptions", err)
	}
	return counts, nil
}
