package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

var loadLatencyMessages = flag.Int("load.latency-messages", 60, "messages of BenchmarkPushLatency, 200 ms apart")

// BenchmarkPushLatency is issue 28's push latency, real binaries on loopback: one token, one room,
// one subscription, push on, a 1-minute poll (so that nothing but the doorbells delivers in time),
// serve on bbolt. After the warm-up (the feed on trusted push), -load.latency-messages messages are
// posted 200 ms apart; it reports post → delivery at the sink (from the post's answer to the
// delivery's arrival) p50, p99 and max, and the parts of the median: post → queued (the
// delivery's created_at: the doorbell, the read and the commit), queued → POST (the deliverer's
// first attempt) and POST → arrival. The default of 60 messages (12 s) stays within the token's
// budget: each message is a doorbell read, and the connector's background budget is 75 calls in any
// 61 s, which registering the doorbells and the warm-up share.
//
//	go test -run '^$' -bench BenchmarkPushLatency -benchtime 1x ./cmd/hipchat-connector/
func BenchmarkPushLatency(b *testing.B) {
	bins := buildLoadBinaries(b)
	for range b.N {
		spec := loadSpec{Backend: "bbolt", Replicas: 1, Tokens: 1, Rooms: 1, SubsPerRoom: 1, Posters: 1,
			Push: true, PollSchedule: "@every 1m", Arrivals: true,
			Settle: time.Second} // a quiet spell after the warm-up's message: the first is not part of a burst
		w := newLoadWorld(b, bins, spec)
		posted := map[string]time.Time{}
		for i := range *loadLatencyMessages {
			at := time.Now().Add(200 * time.Millisecond)
			id, err := w.simc.PostMessage(context.Background(), w.posters[0].Token, w.rooms[0], fmt.Sprintf("latency %d", i))
			if err != nil {
				b.Fatal(err)
			}
			posted[id] = time.Now()
			time.Sleep(time.Until(at))
		}
		var arrived map[string]int64
		w.waitUntil("every message delivered", time.Minute, func() bool {
			if err := getJSON(w.http, w.sink.URL+"/arrivals", &arrived); err != nil {
				b.Fatal(err)
			}
			n := 0
			for id := range posted {
				if _, ok := arrived[id]; ok {
					n++
				}
			}
			return n == len(posted)
		})
		parts := w.deliveryTimes()
		var total, queued, dispatched, sent []time.Duration
		for id, at := range posted {
			got := time.Unix(0, arrived[id])
			total = append(total, got.Sub(at))
			if p, ok := parts[id]; ok {
				queued = append(queued, p.created.Sub(at))
				dispatched = append(dispatched, p.attempted.Sub(p.created))
				sent = append(sent, got.Sub(p.attempted))
			}
		}
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		over := 0
		for _, d := range total {
			if d > 100*time.Millisecond {
				over++
			}
		}
		b.ReportMetric(ms(percentileOf(total, 50)), "p50-ms")
		b.ReportMetric(ms(percentileOf(total, 99)), "p99-ms")
		b.ReportMetric(ms(percentileOf(total, 100)), "max-ms")
		b.ReportMetric(ms(percentileOf(queued, 50)), "post-to-queued-p50-ms")
		b.ReportMetric(ms(percentileOf(dispatched, 50)), "queued-to-POST-p50-ms")
		b.ReportMetric(ms(percentileOf(sent, 50)), "POST-to-sink-p50-ms")
		load, _ := os.ReadFile("/proc/loadavg")
		b.Logf("push, a message every 200 ms, poll @every 1m: %d messages, post → delivery p50 %.1f ms, p99 %.1f ms, max %.1f ms, "+
			"%d over 100 ms; medians: post → queued %.1f ms, queued → POST %.1f ms, POST → sink %.1f ms; %d HipChat calls in all; load average %s",
			len(total), ms(percentileOf(total, 50)), ms(percentileOf(total, 99)), ms(percentileOf(total, 100)), over,
			ms(percentileOf(queued, 50)), ms(percentileOf(dispatched, 50)), ms(percentileOf(sent, 50)), w.calls(), strings.TrimSpace(string(load)))
	}
}

// deliveryParts are when the connector queued a delivery and first POSTed it.
type deliveryParts struct{ created, attempted time.Time }

// deliveryTimes reads the first subscription's deliveries (ListDeliveries, the newest 100) by event id.
func (w *loadWorld) deliveryTimes() map[string]deliveryParts {
	var list struct {
		Items []struct {
			EventID   string    `json:"event_id"`
			CreatedAt time.Time `json:"created_at"`
			Attempts  []struct {
				At time.Time `json:"at"`
			} `json:"attempts"`
		} `json:"items"`
	}
	req, _ := http.NewRequest(http.MethodGet, w.locations[0]+"/deliveries", nil)
	req.Header.Set("Authorization", "Bearer "+w.subscribers[0].Token)
	resp, err := w.http.Do(req)
	if err != nil {
		w.tb.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		w.tb.Fatal(err)
	}
	parts := map[string]deliveryParts{}
	for _, d := range list.Items {
		if len(d.Attempts) > 0 {
			parts[d.EventID] = deliveryParts{created: d.CreatedAt, attempted: d.Attempts[0].At}
		}
	}
	return parts
}

// percentileOf is the p-th percentile (nearest rank) of list; 0 for an empty list.
func percentileOf(list []time.Duration, p int) time.Duration {
	if len(list) == 0 {
		return 0
	}
	sorted := slices.Clone(list)
	slices.Sort(sorted)
	return sorted[max(1, (p*len(sorted)+99)/100)-1]
}
