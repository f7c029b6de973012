package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// DefaultDeliveryTimeout bounds one delivery attempt of the callback client.
const DefaultDeliveryTimeout = 15 * time.Second

// DefaultUserAgent is the User-Agent of every delivery.
const DefaultUserAgent = "hipchat-connector-webhooks/1.0"

// Headers a delivery carries besides Standard Webhooks' webhook-id, webhook-timestamp and
// webhook-signature.
const (
	// HeaderEventType names the event: message.posted, file.uploaded, room.created or test.
	HeaderEventType = "X-HipChat-Connector-Event"
	// HeaderSubscription is the id of the subscription the delivery belongs to.
	HeaderSubscription = "X-HipChat-Connector-Subscription"
	// HeaderCatchUp is present on the first delivery after a catch-up bound skipped older events,
	// and says how many and why.
	HeaderCatchUp = "X-HipChat-Connector-Catch-Up"
)

// ErrUnusableSecret is returned by NewRequest for a secret Standard Webhooks cannot sign with; no
// retry can help such a delivery.
var ErrUnusableSecret = errors.New("the subscription's signing secret is unusable")

// Message is one delivery as it goes on the wire.
type Message struct {
	// ID is the webhook-id: the same on every attempt, after restarts and on resends.
	ID string
	// Type is the event type (HeaderEventType).
	Type string
	// SubscriptionID names the subscription (HeaderSubscription).
	SubscriptionID string
	// CatchUpNote, when set, is sent as HeaderCatchUp.
	CatchUpNote string
	// Payload is the JSON body.
	Payload []byte
}

// NewRequest returns the signed POST of m to callbackURL at time at: Standard Webhooks v1 headers,
// JSON content type, userAgent and the connector's own headers. webhook-signature carries one
// HMAC-SHA256 signature per secret, space-separated as the Standard Webhooks spec allows, so a
// receiver verifies with whichever secret it has while a rotation overlaps.
// Errors: ErrUnusableSecret (none given, or one Standard Webhooks cannot sign with), or one wrapping
// ErrCallbackURL for a URL that cannot be requested.
func NewRequest(ctx context.Context, callbackURL string, secrets []string, m Message, at time.Time, userAgent string) (*http.Request, error) {
	if len(secrets) == 0 {
		return nil, ErrUnusableSecret
	}
	signatures := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, ErrUnusableSecret
		}
		signature, err := wh.Sign(m.ID, at, m.Payload)
		if err != nil {
			return nil, ErrUnusableSecret
		}
		signatures = append(signatures, signature)
	}
	signature := strings.Join(signatures, " ")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callbackURL, bytes.NewReader(m.Payload))
	if err != nil {
		return nil, fmt.Errorf("%w: it is not a valid URL", ErrCallbackURL)
	}
	req.Header.Set(standardwebhooks.HeaderWebhookID, m.ID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, signature)
	req.Header.Set("Content-Type", "application/json")
	if userAgent == "" {
		userAgent = DefaultUserAgent
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderEventType, m.Type)
	req.Header.Set(HeaderSubscription, m.SubscriptionID)
	if m.CatchUpNote != "" {
		req.Header.Set(HeaderCatchUp, m.CatchUpNote)
	}
	return req, nil
}
