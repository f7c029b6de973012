package delivery

import (
	"time"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// maxBatchWait bounds how long a commit waits for more attempts to join it (fillBatchLocked).
const maxBatchWait = 2 * time.Millisecond

// record queues a finished attempt for the group commit and, when no commit is running, commits
// everything queued, again and again while more arrives. Every attempt is released once recorded.
func (d *Deliverer) record(f finishedAttempt) {
	d.recordMu.Lock()
	d.toRecord = append(d.toRecord, f)
	if d.recording {
		if d.batchWanted > 0 && len(d.toRecord) >= d.batchWanted {
			d.batchWanted = 0
			d.batchFull <- struct{}{} // buffered (1) and sent once per wait, under recordMu: never blocks
		}
		d.recordMu.Unlock()
		return
	}
	d.recording = true
	for len(d.toRecord) > 0 {
		d.fillBatchLocked()
		batch := d.toRecord
		d.toRecord = nil
		d.recordMu.Unlock()
		d.commit(batch)
		d.recordMu.Lock()
	}
	d.recording = false
	d.recordMu.Unlock()
}

// fillBatchLocked lets a commit wait, for at most maxBatchWait, until the POSTs in flight have
// finished and joined the attempts queued, so that a commit (two fsyncs) records as many
// attempts as the deliverer has going: without it a fast commit follows each one or two finished
// POSTs, and the fsyncs grow with the deliveries per second. With nothing in flight it does not
// wait. recordMu is held on entry and on return.
func (d *Deliverer) fillBatchLocked() {
	d.mu.Lock()
	posting := d.posting
	d.mu.Unlock()
	want := len(d.toRecord) + posting
	if posting == 0 || len(d.toRecord) >= want {
		return
	}
	d.batchWanted = want
	d.recordMu.Unlock()
	timer := time.NewTimer(maxBatchWait)
	select {
	case <-d.batchFull:
	case <-timer.C:
	}
	timer.Stop()
	d.recordMu.Lock()
	select { // a send that raced the timer: taken now, so the next wait starts empty
	case <-d.batchFull:
	default:
	}
	d.batchWanted = 0
}

// commit records a batch of attempts in one store transaction, then logs, counts and releases
// each.
func (d *Deliverer) commit(batch []finishedAttempt) {
	records := make([]state.AttemptRecord, len(batch))
	for i, f := range batch {
		records[i] = state.AttemptRecord{SubscriptionID: f.delivery.SubscriptionID, Seq: f.delivery.Seq, Attempt: f.attempt, Outcome: f.outcome}
	}
	errs := d.store.RecordAttempts(records)
	for i, f := range batch {
		d.recorded(f, errs[i])
		d.release(deliveryKey{f.delivery.SubscriptionID, f.delivery.Seq})
	}
}
