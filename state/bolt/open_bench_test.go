package bolt

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// BenchmarkOpenChecksTheFile measures what Open's check for damage (checkPages, after readAhead)
// costs a start: a 100 MB file — 200 subscriptions, 260,000 events, two thirds of them delivered —
// opened and closed by Open, and by bbolt alone for comparison, with the file in the page cache and,
// on Linux, dropped from it before each open (dropFromPageCache) as after a reboot. Writing the
// file takes about 10 s.
//
//	go test -run '^$' -bench BenchmarkOpenChecksTheFile -benchtime 5x ./state/bolt/
func BenchmarkOpenChecksTheFile(b *testing.B) {
	path := write100MB(b)
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("file: %.1f MB", float64(info.Size())/1e6)
	opens := map[string]func() error{
		"Open": func() error {
			s, err := Open(path, Options{Key: testKey(7)})
			if err != nil {
				return err
			}
			return s.Close()
		},
		"bbolt.Open": func() error {
			db, err := bbolt.Open(path, 0o600, &bbolt.Options{InitialMmapSize: initialMmapSize})
			if err != nil {
				return err
			}
			return db.Close()
		},
	}
	for _, cache := range []string{"cached", "from disk"} {
		for _, name := range []string{"Open", "bbolt.Open"} {
			b.Run(cache+"/"+name, func(b *testing.B) {
				for b.Loop() {
					if cache == "from disk" {
						b.StopTimer()
						if !dropFromPageCache(b, path) {
							b.Skip("no way to drop a file from the page cache here")
						}
						b.StartTimer()
					}
					if err := opens[name](); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// write100MB writes a file of about 100 MB as the poller and the deliverer would: 200 subscriptions
// (50 rooms × 4), a CommitFeed per room read of 50 messages, every third round's deliveries
// recorded delivered; then it syncs the file.
func write100MB(tb testing.TB) string {
	tb.Helper()
	clk := newClock()
	path := filepath.Join(tb.TempDir(), "100mb.db")
	s, err := Open(path, Options{Key: testKey(7), Now: clk.Now, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer syncFile(tb, path) // written without fsync: a page still dirty cannot be dropped from the cache
	defer s.Close()
	const rooms, perRoom, perRead, events = 50, 4, 50, 260_000
	subID := func(room, i int) string { return fmt.Sprintf("0b6f3e1c-5d2a-4c8e-9f7a-%04d%08d", room, i) }
	for r := range rooms {
		for i := range perRoom {
			if _, err := s.CreateSubscription(state.Subscription{
				ID: subID(r, i), ConnectionID: "conn-a", Kind: triggers.KindMessage, RoomID: fmt.Sprint(r + 1),
				CallbackURL: fmt.Sprintf("https://sink%d.example/hook", i), Token: "token", Secret: "whsec_secret",
				HipChatURL: "https://api.hipchat.com",
			}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for round, written := 0, 0; written < events; round++ {
		room := round % rooms
		advances := make([]state.CursorAdvance, perRoom)
		for i := range advances {
			evs := make([]state.Event, perRead)
			for j := range evs {
				evs[j] = state.Event{ID: messageID(room, round*perRead+j), Type: "message.posted",
					Payload: messagePayload(room+1, round*perRead+j, clk.Now())}
			}
			advances[i] = state.CursorAdvance{SubscriptionID: subID(room, i), Cursor: []byte(fmt.Sprint(round)), Events: evs}
		}
		if err := s.CommitFeed(advances); err != nil {
			tb.Fatal(err)
		}
		written += perRead * perRoom
		if round%3 == 0 {
			deliverAllDue(tb, s, clk.Now())
		}
		clk.Advance(time.Second)
	}
	return path
}

// syncFile writes path's dirty pages to disk.
func syncFile(tb testing.TB, path string) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
}
