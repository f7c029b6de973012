package bolt

import (
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// outboxTx is state.OutboxTx over one bbolt transaction: what the rules both backends share
// (recording attempts, recovering, resending) read and write, in this file's layout. It keeps each
// subscription's log buckets and each delivery's queued-at time as it reads them, so that
// recording an attempt looks a delivery up once, as before the rules were shared.
type outboxTx struct {
	s       *Store
	tx      *bbolt.Tx
	logs    map[string]subLog
	queued  map[deliveryKey]time.Time
	pending *pendingDelta
}

// deliveryKey names one delivery of one subscription.
type deliveryKey struct {
	subID string
	seq   uint64
}

func (s *Store) outboxTx(tx *bbolt.Tx) *outboxTx {
	return &outboxTx{s: s, tx: tx, logs: map[string]subLog{}, queued: map[deliveryKey]time.Time{}, pending: s.pending.track(tx)}
}

func (t *outboxTx) log(subID string) subLog {
	l, ok := t.logs[subID]
	if !ok {
		l = openSubLog(t.tx, subID)
		t.logs[subID] = l
	}
	return l
}

// queuedAt is when delivery seq of subID was queued, which places its record and its index
// entries. Errors: state.ErrNotFound.
func (t *outboxTx) queuedAt(subID string, seq uint64) (time.Time, error) {
	if at, ok := t.queued[deliveryKey{subID, seq}]; ok {
		return at, nil
	}
	at, ok := t.log(subID).queuedAt(seq)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: delivery %s/%d", state.ErrNotFound, subID, seq)
	}
	t.queued[deliveryKey{subID, seq}] = at
	return at, nil
}

func (t *outboxTx) Subscription(id string) (*state.SubscriptionRecord, error) {
	return t.s.loadSubscription(t.tx, id)
}

func (t *outboxTx) PutSubscription(rec *state.SubscriptionRecord) error {
	return putSubscription(t.tx.Bucket(bucketSubscriptions), rec)
}

func (t *outboxTx) Delivery(subID string, seq uint64) (*state.DeliveryRecord, error) {
	rec, queued, err := t.log(subID).get(seq)
	if err != nil {
		return nil, err
	}
	t.queued[deliveryKey{subID, seq}] = queued
	return rec, nil
}

func (t *outboxTx) PutDelivery(sub *state.SubscriptionRecord, seq uint64, rec *state.DeliveryRecord) error {
	queued, err := t.queuedAt(sub.ID, seq)
	if err != nil {
		return err
	}
	return t.log(sub.ID).put(seq, queued, rec)
}

func (t *outboxTx) Schedule(sub *state.SubscriptionRecord, seq uint64, at time.Time) error {
	queued, err := t.queuedAt(sub.ID, seq)
	if err != nil {
		return err
	}
	added, err := schedule(t.tx, sub, seq, queued, at)
	if added {
		t.pending.add(sub.ID, 1)
	}
	return err
}

func (t *outboxTx) Unschedule(sub *state.SubscriptionRecord, seq uint64) error {
	queued, err := t.queuedAt(sub.ID, seq)
	if err != nil {
		return err
	}
	removed, err := unschedule(t.tx, sub, seq, queued)
	if removed {
		t.pending.add(sub.ID, -1)
	}
	return err
}

func (t *outboxTx) Requeue(sub *state.SubscriptionRecord, oldSeq uint64, rec *state.DeliveryRecord) (uint64, error) {
	oldQueued, err := t.queuedAt(sub.ID, oldSeq)
	if err != nil {
		return 0, err
	}
	log := t.log(sub.ID)
	seq, err := log.nextSeq()
	if err != nil {
		return 0, err
	}
	if err := log.remove(oldSeq, oldQueued); err != nil {
		return 0, err
	}
	delete(t.queued, deliveryKey{sub.ID, oldSeq})
	if err := log.add(seq, rec); err != nil {
		return 0, err
	}
	t.queued[deliveryKey{sub.ID, seq}] = rec.QueuedAt
	t.pending.add(sub.ID, 1)
	return seq, enqueue(t.tx, sub, seq, rec.NextAttemptAt)
}

func (t *outboxTx) PutEndpoint(ep state.Endpoint) error { return putEndpoint(t.tx, ep) }
