// Package testkit holds the parts several packages' tests share: a bbolt store in a temporary
// directory, a verifying callback receiver (Sink), and a buffer safe for concurrent writes. Only
// tests import it.
package testkit
