package state

// A Picker chooses what a listing of due deliveries (a store's PickDue) returns. Every backend
// keeps its due deliveries indexed by subscription, and each subscription with due work once in a
// list ordered by when its earliest is due: the listing comes to each subscription in that order,
// asks PickSubscription, and only of a subscription taken reads its due deliveries and asks
// PickDelivery of each. A subscription passed over costs the listing one entry of that list,
// however long its queue: a deliverer whose subscription or endpoint is full passes over it whole.
type Picker interface {
	// PickSubscription is asked once of each subscription with deliveries due that the listing
	// comes to, before anything else of it is read, whatever its status: false passes over every
	// delivery of it in this listing.
	PickSubscription(subID string) bool
	// PickDelivery is asked, in order, of each due delivery of an active subscription that
	// PickSubscription took, before its record is read.
	PickDelivery(subID string, seq uint64) Pick
}

// Pick is what a listing does with a due delivery it comes to (Picker.PickDelivery).
type Pick uint8

const (
	// Take returns the delivery (its record is read).
	Take Pick = iota
	// Skip passes over the delivery; the listing goes on with the next one due, of the same
	// subscription or another.
	Skip
	// SkipSubscription passes over the delivery and every other delivery of its subscription due in
	// this listing, none of which is asked about.
	SkipSubscription
)

// PickFunc is a Picker that takes every subscription and asks pick of each delivery; a nil pick
// takes every delivery.
type PickFunc func(subID string, seq uint64) Pick

// PickSubscription takes every subscription.
func (PickFunc) PickSubscription(string) bool { return true }

// PickDelivery asks the function.
func (f PickFunc) PickDelivery(subID string, seq uint64) Pick {
	if f == nil {
		return Take
	}
	return f(subID, seq)
}

// PickOf turns a skip function (true: pass over) into a Picker that takes every subscription and
// answers Skip or Take of each delivery; nil takes everything.
func PickOf(skip func(subID string, seq uint64) bool) Picker {
	if skip == nil {
		return PickFunc(nil)
	}
	return PickFunc(func(subID string, seq uint64) Pick {
		if skip(subID, seq) {
			return Skip
		}
		return Take
	})
}
