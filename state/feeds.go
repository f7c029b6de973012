package state

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CursorAdvance is what one feed read produced for one subscription: its new
// cursor and the events after its old one, oldest first.
type CursorAdvance struct {
	SubscriptionID string
	// Cursor replaces the subscription's cursor; nil leaves it unchanged
	// (e.g. to queue a test event).
	Cursor []byte
	Events []Event
}

// Event is one new item of a feed for one subscription.
type Event struct {
	ID          string // stable event id, e.g. the HipChat message id or room id
	Type        string // e.g. "message.created"
	Payload     []byte // JSON body to POST
	CatchUpNote string // non-empty when a catch-up bound cut events before this one
}

// deliveryIDEncoding renders delivery ids in lowercase base32 without padding.
var deliveryIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// DeliveryID returns the webhook-id of an event for a subscription:
// "msg_" and 26 base32 characters of sha256(subscriptionID + "/" + eventID).
// It is deterministic, so an event read again after a crash maps to the same
// id, and CommitFeed can refuse to queue it twice.
func DeliveryID(subscriptionID, eventID string) string {
	sum := sha256.Sum256([]byte(subscriptionID + "/" + eventID))
	return "msg_" + deliveryIDEncoding.EncodeToString(sum[:16])
}

// CommitFeed records the result of one feed read in ONE transaction: for each
// advance whose subscription exists and is polled (active, or paused by a
// user: its events wait for resume), it sets the cursor (unless nil) and
// appends one pending delivery per event, in order, due now. An event whose
// delivery id is already in the subscription's outbox (delivered or not) is
// skipped, so committing the same read twice queues nothing new. Advances
// for deleted, suspended or disabled subscriptions are skipped silently:
// their cursor stays where it was.
//
// Either everything is written or nothing is.
// Errors: ErrInvalid when an event has an empty ID (nothing is written).
func (s *Store) CommitFeed(advances []CursorAdvance) error {
	for _, adv := range advances {
		for i, ev := range adv.Events {
			if ev.ID == "" {
				return fmt.Errorf("state: commit feed: %w: subscription %q event %d has an empty id",
					ErrInvalid, adv.SubscriptionID, i)
			}
		}
	}
	now := s.now().UTC()
	err := s.update(func(tx *bolt.Tx) error {
		subs := tx.Bucket(bucketSubscriptions)
		for _, adv := range advances {
			sub, err := s.loadSubscription(tx, adv.SubscriptionID)
			if errors.Is(err, ErrNotFound) {
				continue // deleted since the poller read it
			}
			if err != nil {
				return err
			}
			if !sub.Polled() {
				continue
			}
			if adv.Cursor != nil {
				sub.Cursor = cloneBytes(adv.Cursor)
				if err := putSubscription(subs, sub); err != nil {
					return err
				}
			}
			if len(adv.Events) == 0 {
				continue
			}
			if err := appendEvents(tx, sub, adv.Events, now); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapTx("commit feed", err)
}

func appendEvents(tx *bolt.Tx, sub *SubscriptionRecord, events []Event, now time.Time) error {
	subID := sub.ID
	log, err := createSubLog(tx, subID)
	if err != nil {
		return err
	}
	for _, ev := range events {
		id := DeliveryID(subID, ev.ID)
		if log.ids.Get([]byte(id)) != nil {
			continue
		}
		seq, err := log.nextSeq()
		if err != nil {
			return err
		}
		if err := log.add(seq, NewDeliveryRecord(id, ev, now)); err != nil {
			return err
		}
		if err := enqueue(tx, sub, seq, now); err != nil {
			return err
		}
	}
	return nil
}
