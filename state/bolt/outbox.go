package bolt

import (
	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// RecordAttempt appends attempt a to the pending delivery (subID, seq) and
// applies the outcome, updating the subscription's Health (and the endpoint's
// state, when the outcome carries one), in one transaction. Attempts beyond
// the newest 100 are dropped from the record.
//
// Errors: ErrNotFound when the subscription or delivery is gone (e.g. deleted
// during the attempt); ErrNotPending when the delivery is already finished;
// ErrInvalid for an Outcome not built by Delivered, RetryAt, Dead or Disable
// (or equivalent).
func (s *Store) RecordAttempt(subID string, seq uint64, a state.Attempt, outcome state.Outcome) error {
	return s.RecordAttempts([]state.AttemptRecord{{SubscriptionID: subID, Seq: seq, Attempt: a, Outcome: outcome}})[0]
}

// RecordAttempts records many attempts, as RecordAttempt does each, in ONE
// transaction: the deliverer's group commit, so that fsyncs do not grow with
// attempts per second. It returns one error per record, in order: the errors
// of RecordAttempt for that record (the others are still written), or the
// transaction's error for every record when the commit itself fails.
func (s *Store) RecordAttempts(records []state.AttemptRecord) []error {
	errs := state.PrepareAttempts(records, s.now)
	for i, err := range errs {
		errs[i] = wrapTx("record attempt", err)
	}
	var own []error
	err := s.update(func(tx *bbolt.Tx) error {
		var err error
		own, err = state.RecordAttemptsIn(s.outboxTx(tx), records, errs)
		return err
	})
	for i := range errs {
		switch {
		case errs[i] != nil:
		case err != nil:
			errs[i] = wrapTx("record attempt", err)
		default:
			errs[i] = wrapTx("record attempt", own[i])
		}
	}
	return errs
}

// getDelivery reads and decodes delivery seq of subID. Errors: ErrNotFound; a record that does
// not decode.
func getDelivery(tx *bbolt.Tx, subID string, seq uint64) (*state.DeliveryRecord, error) {
	rec, _, err := openSubLog(tx, subID).get(seq)
	return rec, err
}
