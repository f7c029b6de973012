// Package delivery owns the delivery worker: it drains the outbox that the poller fills, POSTing
// each delivery signed (package webhook) to its subscription's callback URL, recording every attempt
// and its outcome in the store, and retrying on the schedule until delivered or dead-lettered. A due
// delivery starts only once it passes dispatch's gates, in order (gates.go: in flight, subscription
// active and within its bound, endpoint circuit and bound, the slow pool, the connection's bound on
// attempts to endpoints not known to answer quickly, throttles), each refusal named. It knows
// the store only through the small Store interface it declares.
package delivery
