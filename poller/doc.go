// Package poller owns the background work of callback subscriptions: the cron-driven poller that
// reads each watched HipChat feed once per tick and commits new cursors and outbox entries together,
// the delivery worker that drains the outbox with signed, retried POSTs (Standard Webhooks), and the
// guard that keeps callback URLs away from loopback, private and link-local addresses.
//
// It has no HTTP server of its own; the subscriptions package is the API in front of it.
package poller
