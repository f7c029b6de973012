// Package subscriptions owns the HTTP API of callback subscriptions: subscribing a callback URL to
// new messages, files or rooms (the webhook triggers OnNewMessageWebhook, OnNewFileWebhook and
// OnNewRoomWebhook), unsubscribing at the Location the subscription answered with, and, for
// operators and scripts, listing and showing subscriptions, their deliveries and attempts,
// resending a delivery and sending a signed test event.
//
// Every operation is scoped to the caller's connection (its HipChat token): a subscription of
// another connection answers 404, exactly like one that does not exist.
package subscriptions
