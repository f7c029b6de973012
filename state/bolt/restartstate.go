package bolt

import (
	"bytes"

	bbolt "go.etcd.io/bbolt"
)

// Markers of meta/restart_state: whether the process that used the file last stopped gracefully.
const (
	restartRunning byte = 0
	restartClean   byte = 1
)

// SaveRestartState keeps state (what the connector must carry over a restart: its HipChat call
// windows, the tokens it knows) as the graceful end of this process: the next LoadRestartState
// returns it as clean. Errors: only storage failures.
func (s *Store) SaveRestartState(state []byte) error {
	v := append([]byte{restartClean}, state...)
	return wrapTx("save restart state", s.update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyRestartState, v)
	}))
}

// LoadRestartState returns what the previous process saved at its graceful stop, and clean = true;
// or, when it stopped without saving (a crash, kill -9), nil and clean = false. A new file is clean
// with nothing saved; a file from before restart states were kept reads as a crash. It then marks
// the file running, so that a crash of this process shows at the next start.
// Errors: only storage failures.
func (s *Store) LoadRestartState() (state []byte, clean bool, err error) {
	err = s.update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyRestartState); len(v) > 0 && v[0] == restartClean {
			state, clean = bytes.Clone(v[1:]), true
		}
		return meta.Put(keyRestartState, []byte{restartRunning})
	})
	if err != nil {
		return nil, false, wrapTx("load restart state", err)
	}
	return state, clean, nil
}
