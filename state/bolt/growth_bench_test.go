package bolt

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// BenchmarkStoreBytesPerDelivered measures what a delivered event costs the bbolt file: 200
// subscriptions (50 rooms × 4) receive 100,000 events (-growth-events) as the poller and the
// deliverer would write them — one CommitFeed per room read of 50 messages, then every due delivery
// recorded delivered in group commits of 64 — and the file's growth is divided by the events. Its
// yardstick, measured in the same run, is the payload itself: the JSON a callback receives.
//
// It reports file-B/event (the file's growth: what an operator sees; bbolt grows a file 16 MB at a
// time, so this is coarse), used-B/event (the pages in use, free pages left out: the exact cost),
// payload-B/event and the ratios of both to it. Then it deletes every subscription and compacts the
// file (Compact): compacted-MB is what is left.
//
//	go test -run '^$' -bench BenchmarkStoreBytesPerDelivered -benchtime 1x ./state/bolt/
func BenchmarkStoreBytesPerDelivered(b *testing.B) {
	for b.Loop() {
		m := measureGrowth(b, growthEvents)
		b.ReportMetric(m.fileBytesPerEvent(), "file-B/event")
		b.ReportMetric(m.usedBytesPerEvent(), "used-B/event")
		b.ReportMetric(m.payloadPerEvent(), "payload-B/event")
		b.ReportMetric(m.fileBytesPerEvent()/m.payloadPerEvent(), "file/payload")
		b.ReportMetric(m.usedBytesPerEvent()/m.payloadPerEvent(), "used/payload")
		b.ReportMetric(float64(m.compacted)/1e6, "compacted-MB")
		b.Log(m)
	}
}

// growthEvents is how many deliveries BenchmarkStoreBytesPerDelivered writes.
const growthEvents = 100_000

// growth is what one measurement found.
type growth struct {
	events                 int
	fileBefore, fileAfter  int64
	usedBefore, usedAfter  int64
	payloadBytes           int64
	buckets                map[string]bbolt.BucketStats
	freePages, pendingPage int
	compacted              int64 // the file's size once every subscription is deleted and it is compacted
}

func (g growth) fileBytesPerEvent() float64 {
	return float64(g.fileAfter-g.fileBefore) / float64(g.events)
}

func (g growth) usedBytesPerEvent() float64 {
	return float64(g.usedAfter-g.usedBefore) / float64(g.events)
}

func (g growth) payloadPerEvent() float64 { return float64(g.payloadBytes) / float64(g.events) }

func (g growth) String() string {
	s := fmt.Sprintf("%d events: file %d → %d bytes, in use %d → %d, free pages %d (+%d pending)\n",
		g.events, g.fileBefore, g.fileAfter, g.usedBefore, g.usedAfter, g.freePages, g.pendingPage)
	for name, st := range g.buckets {
		s += fmt.Sprintf("  %-13s keys %7d  leaf alloc %10d in use %10d  branch alloc %8d  inline %d\n",
			name, st.KeyN, st.LeafAlloc, st.LeafInuse, st.BranchAlloc, st.InlineBucketInuse)
	}
	return s
}

// measureGrowth writes events deliveries into a fresh file and measures it.
func measureGrowth(tb testing.TB, events int) growth {
	tb.Helper()
	clk := newClock()
	path := filepath.Join(tb.TempDir(), "growth.db")
	s, err := Open(path, Options{Key: testKey(7), Now: clk.Now, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	const rooms, perRoom, perRead = 50, 4, 50
	for r := range rooms {
		for i := range perRoom {
			_, err := s.CreateSubscription(state.Subscription{
				ID: fmt.Sprintf("0b6f3e1c-5d2a-4c8e-9f7a-%04d%08d", r, i), ConnectionID: "conn-a", Kind: triggers.KindMessage,
				RoomID: fmt.Sprint(r + 1), CallbackURL: fmt.Sprintf("https://sink%d.example/hook", i), Token: "token",
				Secret: "whsec_secret", HipChatURL: "https://api.hipchat.com",
			})
			if err != nil {
				tb.Fatal(err)
			}
		}
	}
	g := growth{events: events}
	g.fileBefore, g.usedBefore = fileSizes(tb, s, path)
	written := 0
	for round := 0; written < events; round++ {
		room := round % rooms
		n := min(perRead, (events-written)/perRoom)
		if n == 0 {
			break
		}
		advances := make([]state.CursorAdvance, perRoom)
		for i := range advances {
			evs := make([]state.Event, n)
			for j := range evs {
				payload := messagePayload(room+1, round*perRead+j, clk.Now())
				g.payloadBytes += int64(len(payload))
				evs[j] = state.Event{ID: messageID(room, round*perRead+j), Type: "message.posted", Payload: payload}
			}
			advances[i] = state.CursorAdvance{
				SubscriptionID: fmt.Sprintf("0b6f3e1c-5d2a-4c8e-9f7a-%04d%08d", room, i), Cursor: []byte(fmt.Sprint(round)), Events: evs,
			}
		}
		if err := s.CommitFeed(advances); err != nil {
			tb.Fatal(err)
		}
		written += n * perRoom
		deliverAllDue(tb, s, clk.Now())
		clk.Advance(time.Second)
	}
	g.events = written
	g.fileAfter, g.usedAfter = fileSizes(tb, s, path)
	g.buckets = bucketStats(tb, s)
	st := s.db.Stats()
	g.freePages, g.pendingPage = st.FreePageN, st.PendingPageN
	g.compacted = deleteAllAndCompact(tb, s, path)
	return g
}

// deleteAllAndCompact deletes every subscription of s, closes it, compacts its file and returns the
// compacted size.
func deleteAllAndCompact(tb testing.TB, s *Store, path string) int64 {
	tb.Helper()
	subs, err := s.PolledSubscriptions()
	if err != nil {
		tb.Fatal(err)
	}
	for _, sub := range subs {
		if err := s.DeleteSubscription(sub.ID); err != nil {
			tb.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	done, err := Compact(path, time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	return done.After
}

// deliverAllDue records every due delivery delivered, 64 to a transaction, as the deliverer's
// group commit does.
func deliverAllDue(tb testing.TB, s *Store, now time.Time) {
	tb.Helper()
	for {
		due, err := s.DueDeliveries(now, 64, nil)
		if err != nil {
			tb.Fatal(err)
		}
		if len(due) == 0 {
			return
		}
		records := make([]state.AttemptRecord, len(due))
		for i, d := range due {
			records[i] = state.AttemptRecord{
				SubscriptionID: d.SubscriptionID, Seq: d.Seq, Outcome: state.Delivered(),
				Attempt: state.Attempt{At: now, StatusCode: 204, Duration: 1500 * time.Microsecond},
			}
		}
		for _, err := range s.RecordAttempts(records) {
			if err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// messageID is a HipChat message id (a UUID) for message n of room.
func messageID(room, n int) string {
	return fmt.Sprintf("d6bf229f-d805-49a9-%04x-%012x", room, n)
}

// messagePayload is the JSON the poller makes of an ordinary HipChat message in room.
func messagePayload(room, n int, at time.Time) []byte {
	text := fmt.Sprintf("deploy %d of the billing service finished", n)
	payload, err := json.Marshal(triggers.HistoryItem{
		ID: messageID(room-1, n), Date: at.Format("2006-01-02T15:04:05.000000-07:00"), Type: "message",
		Message: text, From: triggers.Author{ID: 2, MentionName: "dee", Name: "Dee Park"},
		Mentions: []connector.UserStub{}, RoomID: room, RoomName: fmt.Sprint("Room ", room),
	})
	if err != nil {
		panic(err)
	}
	return payload
}

// fileSizes returns the file's size and the bytes of its pages in use (the high-water mark less
// the free pages).
func fileSizes(tb testing.TB, s *Store, path string) (file, used int64) {
	tb.Helper()
	info, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := s.FileStats()
	if err != nil {
		tb.Fatal(err)
	}
	return info.Size(), st.UsedBytes
}

// bucketStats are the statistics of every top-level bucket.
func bucketStats(tb testing.TB, s *Store) map[string]bbolt.BucketStats {
	tb.Helper()
	out := map[string]bbolt.BucketStats{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		for _, name := range topLevelBuckets {
			out[string(name)] = tx.Bucket(name).Stats()
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
