// Package state is the connector's stored domain, whatever holds it: subscriptions and their
// records, deliveries, attempts and outcomes, callback endpoints' circuit state, the events a feed
// read commits, retention, and the sentinel errors every store returns. It seals the secrets a
// store keeps (Sealer: tokens, signing secrets, the server key) under the operator's key
// (LoadOrCreateKeyFile, ParseKey), and gives a delivery record its binary form. A Picker is how a
// deliverer chooses what a listing of due deliveries returns, subscription by subscription.
//
// The rules every backend must apply alike live here once, over the small transaction interface
// a backend implements (OutboxTx): recording attempts (RecordAttemptsIn), recovering what failed
// (RecoveryCandidates, RecoverIn) and resending (ResendIn). The backends sit beneath it:
// state/bolt (one bbolt file, the default) and state/etcd (replicas sharing etcd); both pass the
// contract suite in state/storetest. This package imports neither bbolt nor an etcd client.
package state
