package etcd

import (
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// Deliveries returns the delivery log of a subscription, newest (highest
// Seq) first, at most limit entries (≤ 0: all), pending and finished.
//
// Errors: state.ErrNotFound when the subscription does not exist; etcd errors.
func (s *Store) Deliveries(subID string, limit int) ([]state.Delivery, error) {
	ctx, cancel := s.op()
	defer cancel()
	if _, err := s.newTx(ctx).getSubscription(subID); err != nil {
		return nil, wrap("list deliveries", err)
	}
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend)}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(int64(limit)))
	}
	resp, err := s.client.Get(ctx, s.logDir(subID), opts...)
	if err != nil {
		return nil, wrap("list deliveries", err)
	}
	out := make([]state.Delivery, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		seq, err := seqOfKey(string(kv.Key))
		if err != nil {
			return nil, wrap("list deliveries", err)
		}
		rec, err := decodeDelivery(string(kv.Key), kv.Value)
		if err != nil {
			return nil, wrap("list deliveries", err)
		}
		out = append(out, rec.Delivery(subID, seq))
	}
	return out, nil
}

// Delivery returns one delivery of a subscription by its id (webhook-id).
//
// Errors: state.ErrNotFound when the subscription or the delivery does not
// exist; etcd errors.
func (s *Store) Delivery(subID, deliveryID string) (state.Delivery, error) {
	ctx, cancel := s.op()
	defer cancel()
	seq, rec, err := s.newTx(ctx).deliveryByID(subID, deliveryID)
	if err != nil {
		return state.Delivery{}, wrap("get delivery", err)
	}
	return rec.Delivery(subID, seq), nil
}

func (t *tx) deliveryByID(subID, deliveryID string) (uint64, *state.DeliveryRecord, error) {
	if _, err := t.getSubscription(subID); err != nil {
		return 0, nil, err
	}
	v, ok, err := t.get(t.s.idKey(subID, deliveryID))
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, fmt.Errorf("%w: delivery %q of subscription %q", state.ErrNotFound, deliveryID, subID)
	}
	seq, err := parseHex16(string(v))
	if err != nil {
		return 0, nil, fmt.Errorf("ids index of %q: %w", deliveryID, err)
	}
	rec, err := t.getDelivery(subID, seq)
	return seq, rec, err
}

// Resend queues a delivered or dead delivery again, due now, keeping its id,
// payload and past attempts, at the END of the subscription's queue with a
// new Seq and a new round of attempts. It returns the queued delivery.
//
// Errors: state.ErrNotFound when the subscription or the delivery does not
// exist; state.ErrAlreadyPending when it is still pending; etcd errors.
func (s *Store) Resend(subID, deliveryID string) (state.Delivery, error) {
	now := s.now().UTC()
	var d state.Delivery
	err := s.update(func(t *tx) error {
		seq, rec, err := t.deliveryByID(subID, deliveryID)
		if err != nil {
			return err
		}
		d, err = state.ResendIn(outboxTx{t}, subID, seq, rec, now)
		return err
	})
	if err != nil {
		return state.Delivery{}, wrap("resend", err)
	}
	return d, nil
}

// recoverPerTxn bounds the deliveries one transaction of Recover queues
// (five operations each).
const recoverPerTxn = 20

// Recover queues again every delivery of subID created at or after since
// that failed, as bolt.Store.Recover does: a dead one as Resend does, a
// pending one with failed attempts due now. It returns how many it queued.
// They are queued twenty per transaction, each checked again as it is.
//
// Errors: state.ErrNotFound when the subscription does not exist; etcd errors
// (those already queued stay so).
func (s *Store) Recover(subID string, since time.Time) (int, error) {
	now := s.now().UTC()
	ctx, cancel := s.op()
	if _, err := s.newTx(ctx).getSubscription(subID); err != nil {
		cancel()
		return 0, wrap("recover", err)
	}
	resp, err := s.client.Get(ctx, s.logDir(subID), clientv3.WithPrefix())
	cancel()
	if err != nil {
		return 0, wrap("recover", err)
	}
	candidates := state.RecoveryCandidates{Since: since}
	for _, kv := range resp.Kvs {
		rec, err := decodeDelivery(string(kv.Key), kv.Value)
		if err != nil {
			return 0, wrap("recover", err)
		}
		seq, err := seqOfKey(string(kv.Key))
		if err != nil {
			return 0, wrap("recover", err)
		}
		candidates.Consider(seq, rec)
	}
	seqs := candidates.Seqs()
	total := 0
	for start := 0; start < len(seqs); start += recoverPerTxn {
		n, err := s.recoverChunk(subID, seqs[start:min(start+recoverPerTxn, len(seqs))], now)
		total += n
		if err != nil {
			return total, wrap("recover", err)
		}
	}
	return total, nil
}

// recoverChunk queues again, in one transaction, those of seqs that still
// failed, and returns how many; in halves when they are too big together.
func (s *Store) recoverChunk(subID string, chunk []uint64, now time.Time) (int, error) {
	n := 0
	err := s.update(func(t *tx) error {
		var err error
		n, err = state.RecoverIn(outboxTx{t}, subID, chunk, now)
		return err
	})
	if errors.Is(err, errTooLarge) && len(chunk) > 1 {
		a, err := s.recoverChunk(subID, chunk[:len(chunk)/2], now)
		if err != nil {
			return a, err
		}
		b, err := s.recoverChunk(subID, chunk[len(chunk)/2:], now)
		return a + b, err
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}
