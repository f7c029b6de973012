package poller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
	"github.com/hipchat-connector/hipchat-connector/internal/etcdtest"
	"github.com/hipchat-connector/hipchat-connector/internal/testkit"
	"github.com/hipchat-connector/hipchat-connector/poller"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/state/bolt"
	"github.com/hipchat-connector/hipchat-connector/state/etcd"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// scaleFeed is one watched room of one token.
type scaleFeed struct {
	token, room string
}

// scaleStore is what the scale benchmark needs of a backend.
type scaleStore interface {
	poller.Store
	CreateSubscription(sub state.Subscription) (state.Subscription, error)
}

// openScaleBbolt opens a bbolt store without fsync (setup only: the benchmark's ticks write nothing).
func openScaleBbolt(b *testing.B) scaleStore {
	store, err := bolt.Open(filepath.Join(b.TempDir(), "state.db"), bolt.Options{Key: testkit.StoreKey(), NoSync: true, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	return store
}

// openScaleEtcd opens an etcd store on one embedded member in this process, without fsync (as
// openScaleBbolt).
func openScaleEtcd(b *testing.B) scaleStore {
	store, err := etcd.Open(context.Background(), etcd.Options{Client: etcdtest.Start(b).Client(b), Key: testkit.StoreKey()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	return store
}

// scaleWorld is the emulator (limits off) with tokens × rooms feeds and subsPerFeed subscriptions on
// each, in the store open returns.
func scaleWorld(b *testing.B, open func(*testing.B) scaleStore, tokens, roomsPerToken, subsPerFeed int) (scaleStore, *connector.Client, string, []scaleFeed) {
	b.Helper()
	emu, err := hipchatsim.New(hipchatsim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	b.Cleanup(ts.Close)
	sim := simclient.New(ts.URL)
	ctx := context.Background()
	store := open(b)
	var feeds []scaleFeed
	for t := 0; t < tokens; t++ {
		p, err := sim.NewPerson(ctx, emu.AdminToken(), fmt.Sprintf("Scale %d", t), fmt.Sprintf("scale%d", t))
		if err != nil {
			b.Fatal(err)
		}
		conn := connector.NewConnection(p.Token, ts.URL)
		for r := 0; r < roomsPerToken; r++ {
			id, err := sim.CreateRoom(ctx, p.Token, fmt.Sprintf("Scale %d-%d", t, r), "public")
			if err != nil {
				b.Fatal(err)
			}
			room := strconv.Itoa(id)
			feeds = append(feeds, scaleFeed{token: p.Token, room: room})
			for s := 0; s < subsPerFeed; s++ {
				if _, err := store.CreateSubscription(state.Subscription{
					ConnectionID: conn.ID, Kind: triggers.KindMessage, RoomID: room, CallbackURL: "https://sink.example/hook",
					Token: p.Token, Secret: "whsec_c2NhbGUtYmVuY2htYXJrLXNlY3JldC1vZi10aGUtc2luaw==", HipChatURL: ts.URL,
				}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	client := connector.NewClient(connector.ClientOptions{Limiter: connector.NewLimiter(connector.LimiterOptions{Limit: 1 << 30})})
	return store, client, ts.URL, feeds
}

// BenchmarkIdleTickAtScale is one tick when nothing is new, over tokens × 10 rooms with 3
// subscriptions per room, beside a plain client making the same requests (one history/latest per
// feed, 32 at once, JSON decoded) in the same run: feeds/s of each and their ratio (and the median
// of each tick's ratio to the plain reads right after it), bytes allocated per subscription per
// tick, and heap kept per subscription between ticks. It runs on bbolt at 10k and 50k feeds, and on
// etcd (one embedded member in this process) at 10k.
func BenchmarkIdleTickAtScale(b *testing.B) {
	for _, tc := range []struct {
		backend string
		open    func(*testing.B) scaleStore
		tokens  int
	}{{"bbolt", openScaleBbolt, 1000}, {"bbolt", openScaleBbolt, 5000}, {"etcd", openScaleEtcd, 1000}} {
		b.Run(fmt.Sprintf("%s %dk feeds × 3", tc.backend, tc.tokens*10/1000), func(b *testing.B) {
			store, client, base, feeds := scaleWorld(b, tc.open, tc.tokens, 10, 3)
			subs := len(feeds) * 3
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			p, err := poller.New(poller.Options{Store: store, Source: client, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := p.Tick(ctx); err != nil { // baselines every feed
				b.Fatal(err)
			}
			if err := p.Tick(ctx); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			var kept runtime.MemStats
			runtime.ReadMemStats(&kept)

			var tickTime, plainTime, tickCPU, plainCPU time.Duration
			var allocated, plainAllocated uint64
			var pairRatios []float64 // each tick beside the plain reads just after it
			for i := 0; i < b.N; i++ {
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				cpu, start := testkit.ProcessCPU(), time.Now()
				if err := p.Tick(ctx); err != nil {
					b.Fatal(err)
				}
				tick := time.Since(start)
				tickTime += tick
				tickCPU += testkit.ProcessCPU() - cpu
				runtime.ReadMemStats(&m1)
				allocated += m1.TotalAlloc - m0.TotalAlloc

				cpu, start = testkit.ProcessCPU(), time.Now()
				plainReads(b, base, feeds, 32)
				plain := time.Since(start)
				plainTime += plain
				plainCPU += testkit.ProcessCPU() - cpu
				pairRatios = append(pairRatios, plain.Seconds()/tick.Seconds())
				var m2 runtime.MemStats
				runtime.ReadMemStats(&m2)
				plainAllocated += m2.TotalAlloc - m1.TotalAlloc
			}
			n := float64(b.N * len(feeds))
			tickRate, plainRate := n/tickTime.Seconds(), n/plainTime.Seconds()
			b.ReportMetric(tickTime.Seconds()/float64(b.N)*1000, "ms/tick")
			b.ReportMetric(tickRate, "feeds/s")
			b.ReportMetric(plainRate, "plain-reads/s")
			b.ReportMetric(tickRate/plainRate, "ratio")
			// The process's CPU per feed read on each side (the emulator runs in this process too):
			// it moves less with the machine's other work than the rates do.
			b.ReportMetric(tickCPU.Seconds()*1e6/n, "cpu-µs/feed")
			b.ReportMetric(plainCPU.Seconds()*1e6/n, "plain-cpu-µs/read")
			if tickCPU > 0 {
				b.ReportMetric(plainCPU.Seconds()/tickCPU.Seconds(), "cpu-ratio")
			}
			// On a shared machine a neighbour's burst lands in one side's time: the median of each
			// tick's ratio to the plain reads right after it is what a burst moves least.
			slices.Sort(pairRatios)
			b.ReportMetric(pairRatios[len(pairRatios)/2], "median-pair-ratio")
			b.ReportMetric(float64(allocated)/float64(b.N*subs), "B-alloc/sub/tick")
			// Both sides include the emulator's own allocations (it runs in this process); the
			// difference is what the poller adds over a plain client doing the same reads.
			b.ReportMetric((float64(allocated)-float64(plainAllocated))/float64(b.N*subs), "B-over-plain/sub/tick")
			b.ReportMetric(float64(int64(kept.HeapAlloc)-int64(before.HeapAlloc))/float64(subs), "B-heap/sub")
		})
	}
}

// plainReads asks history/latest of every feed once, workers at a time, decoding each answer: what
// a plain client does for the same requests.
func plainReads(b *testing.B, base string, feeds []scaleFeed, workers int) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	client := &http.Client{Transport: transport, Timeout: 15 * time.Second}
	defer transport.CloseIdleConnections()
	next := make(chan scaleFeed)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				q := url.Values{"max-results": {"1000"}, "include_deleted": {"true"}}
				req, _ := http.NewRequest("GET", base+"/v2/room/"+f.room+"/history/latest?"+q.Encode(), nil)
				req.Header.Set("Authorization", "Bearer "+f.token)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				var env struct {
					Items []map[string]any `json:"items"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&env)
				resp.Body.Close()
			}
		}()
	}
	for _, f := range feeds {
		next <- f
	}
	close(next)
	wg.Wait()
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
