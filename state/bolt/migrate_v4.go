package bolt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// migrateOutboxV4 (3→4) moves every delivery record out of its subscription's
// outbox/<subscription id>/log bucket into the top-level log bucket under its
// record key (sublog.go), in the binary form of version 4
// (deliveryformat.go), and indexes it in the subscription's seqs bucket; each
// outbox bucket takes the sequence of its log bucket, which numbered the
// deliveries, so seqs go on from where they were. The pending index
// (pending/<subscription id>/<seq> → next attempt time) becomes the queued
// index, and for FIFO subscriptions their fifo queue; the due index stays as
// it is.
func migrateOutboxV4(tx *bbolt.Tx) error {
	log, err := tx.CreateBucketIfNotExists(bucketLog)
	if err != nil {
		return err
	}
	outbox := tx.Bucket(bucketOutbox)
	var subIDs []string
	err = outbox.ForEachBucket(func(k []byte) error {
		subIDs = append(subIDs, string(k))
		return nil
	})
	if err != nil {
		return err
	}
	for _, subID := range subIDs {
		if err := migrateSubscriptionLog(log, outbox.Bucket([]byte(subID)), subID); err != nil {
			return err
		}
	}
	return migratePendingIndex(tx)
}

// migrateSubscriptionLog moves one subscription's version-3 log into log.
func migrateSubscriptionLog(log, box *bbolt.Bucket, subID string) error {
	nested := box.Bucket(bucketV3OutboxLog)
	if nested == nil {
		return nil
	}
	seqs, err := box.CreateBucketIfNotExists(bucketOutboxSeqs)
	if err != nil {
		return err
	}
	err = nested.ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("delivery key %x of %s is not a seq", k, subID)
		}
		var rec state.DeliveryRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode delivery %s/%x: %w", subID, k, err)
		}
		queued := rec.QueuedAt // every version wrote it; the fallbacks only keep a key in range
		if queued.IsZero() {
			queued = rec.CreatedAt
		}
		if queued.IsZero() {
			queued = time.Unix(0, 0).UTC()
		}
		seq := binary.BigEndian.Uint64(k)
		if err := seqs.Put(k, timeValue(queued)); err != nil {
			return err
		}
		return log.Put(recordKey(queued, seq, subID), state.EncodeDeliveryRecord(subID, &rec))
	})
	if err != nil {
		return err
	}
	if err := box.SetSequence(nested.Sequence()); err != nil {
		return err
	}
	return box.DeleteBucket(bucketV3OutboxLog)
}

// migratePendingIndex turns the version-3 pending index into the queued index and the FIFO
// queues, then drops it.
func migratePendingIndex(tx *bbolt.Tx) error {
	pending := tx.Bucket(bucketV3Pending)
	if pending == nil {
		return nil
	}
	queued, fifo := tx.Bucket(bucketQueued), tx.Bucket(bucketFIFO)
	err := pending.ForEachBucket(func(k []byte) error {
		subID := string(k)
		sub, err := getSubscription(tx, subID)
		if err != nil {
			return fmt.Errorf("pending deliveries of %q: %w", subID, err)
		}
		log := openSubLog(tx, subID)
		var queue *bbolt.Bucket
		if sub.Ordering.OrDefault() == state.OrderingFIFO {
			if queue, err = fifo.CreateBucketIfNotExists(k); err != nil {
				return err
			}
		}
		return pending.Bucket(k).ForEach(func(seqKey, at []byte) error {
			if len(seqKey) != 8 {
				return fmt.Errorf("pending key %x of %s is not a seq", seqKey, subID)
			}
			seq := binary.BigEndian.Uint64(seqKey)
			q, ok := log.queuedAt(seq)
			if !ok {
				return fmt.Errorf("%w: pending delivery %s/%d has no record", state.ErrNotFound, subID, seq)
			}
			if err := queued.Put(recordKey(q, seq, subID), at); err != nil {
				return err
			}
			if queue == nil {
				return nil
			}
			return queue.Put(seqKey, nil)
		})
	})
	if err != nil {
		return err
	}
	return tx.DeleteBucket(bucketV3Pending)
}
