package state

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// CursorAdvance is what one feed read produced for one subscription: its new
// cursor and the events after its old one, oldest first.
type CursorAdvance struct {
	SubscriptionID string
	// Cursor replaces the subscription's cursor; nil leaves it unchanged
	// (e.g. to queue a test event).
	Cursor []byte
	Events []Event
	// Room, when resolved, is the subscription's room as HipChat names it, found by the poller
	// for a subscription stored before rooms were resolved; the commit stores it once.
	Room triggers.ResolvedRoom
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
	return deliveryIDPrefix + deliveryIDEncoding.EncodeToString(sum[:16])
}

// deliveryIDPrefix starts every id DeliveryID makes.
const deliveryIDPrefix = "msg_"

// DeliveryIDBytes returns the 16 bytes that id, made by DeliveryID, renders; ok is false for any
// other string (one DeliveryID did not make, or not in its exact form). A store may index
// deliveries by these bytes rather than by the id's 30 characters.
func DeliveryIDBytes(id string) (sum [16]byte, ok bool) {
	text, found := strings.CutPrefix(id, deliveryIDPrefix)
	if !found || len(text) != deliveryIDEncoding.EncodedLen(len(sum)) {
		return sum, false
	}
	n, err := deliveryIDEncoding.Decode(sum[:], []byte(text))
	if err != nil || n != len(sum) || deliveryIDEncoding.EncodeToString(sum[:]) != text {
		return sum, false
	}
	return sum, true
}
