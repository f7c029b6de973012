// Package webhook owns what a callback delivery is, apart from when it is sent: the guard that keeps
// callback URLs away from loopback, private and link-local addresses (at subscribe time and again at
// dial time), the signing secret, the signed request with its Standard Webhooks headers, and the
// retry schedule. The delivery worker and the subscriptions API both use it; it knows nothing of
// HTTP servers, the store or the poller.
package webhook
