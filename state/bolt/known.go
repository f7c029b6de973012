package bolt

import (
	bbolt "go.etcd.io/bbolt"
)

// KnownConnections returns the connection IDs RememberConnections kept, in order.
// Errors: only storage failures.
func (s *Store) KnownConnections() ([]string, error) {
	var ids []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketKnown).ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	return ids, wrapTx("known connections", err)
}

// RememberConnections keeps ids (connection IDs, hashes of tokens HipChat accepted) in one
// transaction. Errors: only storage failures.
func (s *Store) RememberConnections(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return wrapTx("remember connections", s.update(func(tx *bbolt.Tx) error {
		known := tx.Bucket(bucketKnown)
		for _, id := range ids {
			if err := known.Put([]byte(id), nil); err != nil {
				return err
			}
		}
		return nil
	}))
}
