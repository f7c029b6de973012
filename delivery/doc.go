// Package delivery owns the delivery worker: it drains the outbox that the poller fills, POSTing
// each delivery signed (package webhook) to its subscription's callback URL, recording every attempt
// and its outcome in the store, and retrying on the schedule until delivered or dead-lettered. It
// knows the store only through the small Store interface it declares.
package delivery
