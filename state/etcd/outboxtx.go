package etcd

import (
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// outboxTx is state.OutboxTx over one etcd transaction: what the rules both backends share
// (recording attempts, recovering, resending) read and write, in this package's key layout. Every
// write to a subscription's log or queue rewrites its outbox key (touchOutbox), so two
// transactions that change the same queue conflict there.
type outboxTx struct{ t *tx }

func (o outboxTx) Subscription(id string) (*state.SubscriptionRecord, error) {
	return o.t.getSubscription(id)
}

func (o outboxTx) PutSubscription(rec *state.SubscriptionRecord) error {
	return o.t.putSubscription(rec)
}

func (o outboxTx) Delivery(subID string, seq uint64) (*state.DeliveryRecord, error) {
	return o.t.getDelivery(subID, seq)
}

func (o outboxTx) PutDelivery(sub *state.SubscriptionRecord, seq uint64, rec *state.DeliveryRecord) error {
	if _, err := o.t.touchOutbox(sub.ID); err != nil {
		return err
	}
	return o.t.putDelivery(sub.ID, seq, rec)
}

func (o outboxTx) Schedule(sub *state.SubscriptionRecord, seq uint64, at time.Time) error {
	return o.t.schedule(sub, seq, at)
}

func (o outboxTx) Unschedule(sub *state.SubscriptionRecord, seq uint64) error {
	return o.t.unschedule(sub, seq)
}

func (o outboxTx) Requeue(sub *state.SubscriptionRecord, oldSeq uint64, rec *state.DeliveryRecord) (uint64, error) {
	t := o.t
	box, err := t.touchOutbox(sub.ID)
	if err != nil {
		return 0, err
	}
	seq := t.nextSeq(sub.ID, box)
	t.del(t.s.logKey(sub.ID, oldSeq))
	if err := t.putDelivery(sub.ID, seq, rec); err != nil {
		return 0, err
	}
	t.put(t.s.idKey(sub.ID, rec.ID), []byte(hex16(seq)))
	return seq, t.schedule(sub, seq, rec.NextAttemptAt)
}

func (o outboxTx) PutEndpoint(ep state.Endpoint) error { return o.t.putEndpoint(ep) }
