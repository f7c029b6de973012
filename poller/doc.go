// Package poller owns the cron-driven poller of callback subscriptions: each tick it groups the
// active subscriptions into feeds (a connection and a room's history, or a connection's room list),
// reads each feed once through the connection's limiter, and commits every subscription's new cursor
// and outbox entries of that feed in one store transaction. Reading and cursors are package
// triggers'; draining the outbox is package delivery's.
package poller
