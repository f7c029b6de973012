// Package triggers owns the three trigger kinds (OnNewMessage, OnNewFile, OnNewRoom): what is new
// after a cursor, how a cursor advances without losing or repeating an item, the payload each kind
// delivers, and the opaque, authenticated state that carries a cursor through the Logic Apps polling
// protocol. The poller uses the same reading code for callback subscriptions.
package triggers
