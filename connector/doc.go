// Package connector owns the connector's side of HipChat: connections (a token and a HipChat base URL,
// identified by a hash of the token), the per-connection limiter that keeps every connection within
// 100 upstream calls in any 60 seconds, a typed HipChat v2 client for the calls the connector makes,
// and the one error vocabulary that upstream answers are turned into.
package connector
