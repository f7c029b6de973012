package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Flags of the load benchmarks (scripts/e2e-load.sh passes them after -args).
var (
	loadMessages     = flag.Int("load.messages", 20000, "messages of BenchmarkEndToEndLoad's burst on bbolt")
	loadEtcdMessages = flag.Int("load.etcd-messages", 5000, "messages of BenchmarkEndToEndLoad's burst on etcd")
	loadPosters      = flag.Int("load.posters", 8, "clients posting at once in BenchmarkEndToEndLoad")
	loadPoll         = flag.String("load.poll", "@every 2s", "serve -poll-schedule of BenchmarkEndToEndLoad")
	loadPush         = flag.Bool("load.push", true, "serve -push of BenchmarkEndToEndLoad")
	loadProfile      = flag.String("load.profile", "", "`directory` for CPU profiles of the connectors during each burst (a binary built with -tags loadprofile)")
	loadProfileFor   = flag.Duration("load.profile-for", 15*time.Second, "how long each burst's CPU profile runs")
	loadEtcd         = flag.String("load.etcd", "path", "the etcd member of the etcd runs: `path` (the etcd on PATH, else internal/devetcd) or dev (internal/devetcd, the etcd server of go.mod, even with one on PATH)")
)

// BenchmarkEndToEndLoad is issue 28's end-to-end run with real binaries on loopback (sim, devsink,
// serve; etcd through devetcd or the etcd on PATH): 50 tokens (so that no token's HipChat budget
// binds), 50 rooms × 4 message subscriptions, a burst of messages posted by -load.posters clients as
// fast as the emulator takes them, every delivery exactly once. Each sub-benchmark reports
// deliveries/s (first post to last delivery) and CPU-ms per delivery of the connector(s), the
// emulator, the sink and etcd, beside the yardsticks measured in the same world just before: the
// sink's POSTs/s from a plain client, the emulator's posts/s from the same posters. The etcd runs
// take one replica, then three behind a load balancer (their -public-url, where HipChat's room
// webhooks call), in the same run:
//
//	go test -run '^$' -bench BenchmarkEndToEndLoad -benchtime 1x -timeout 60m ./cmd/hipchat-connector/
func BenchmarkEndToEndLoad(b *testing.B) {
	bins := buildLoadBinaries(b)
	for _, tc := range []struct {
		name              string
		backend           string
		replicas, message int
	}{
		{"bbolt", "bbolt", 1, *loadMessages},
		{"etcd 1 replica", "etcd", 1, *loadEtcdMessages},
		{"etcd 3 replicas", "etcd", 3, *loadEtcdMessages},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				spec := loadSpec{Backend: tc.backend, Replicas: tc.replicas, Tokens: 50, Rooms: 50, SubsPerRoom: 4,
					Messages: tc.message, Posters: *loadPosters, Push: *loadPush, PollSchedule: *loadPoll}
				w := newLoadWorld(b, bins, spec)
				sinkRate := w.sinkRate(20000)
				emulatorRate := w.emulatorRate(5000)
				r := w.burst(2 * time.Minute)
				checkExactlyOnce(b, r, spec)
				reportLoad(b, r)
				b.ReportMetric(sinkRate, "sink-plain-POSTs/s")
				b.ReportMetric(emulatorRate, "emulator-posts/s")
				b.ReportMetric(r.DeliveriesPerSecond()/sinkRate, "ratio-to-sink")
				extra := fmt.Sprintf("yardsticks: sink %.0f plain POSTs/s, emulator %.0f posts/s", sinkRate, emulatorRate)
				if tc.backend == "etcd" {
					extra += "; etcd: " + bins.etcdVersion
				}
				logLoad(b, tc.name, spec, r, extra)
			}
		})
	}
}

// BenchmarkPushBurst is issue 28's burst, with and without push, in one run: one token, its rooms ×
// subscriptions, messages posted by four clients at once (16 for the larger burst), a 2 s poll;
// serve on bbolt, real binaries on loopback. Each world is warmed up (with push, until every feed
// is on trusted push) and, for the larger one, left to settle a minute so that the token's budget
// starts the burst fresh. It reports each side's time (first post to last delivery) and the token's
// HipChat calls meanwhile, deliveries per call, and push's over polling's; it fails when a delivery
// is lost or repeated, or when push costs more HipChat calls than polling:
//
//	go test -run '^$' -bench BenchmarkPushBurst -benchtime 1x -timeout 60m ./cmd/hipchat-connector/
func BenchmarkPushBurst(b *testing.B) {
	bins := buildLoadBinaries(b)
	for _, tc := range []struct {
		name                           string
		rooms, subs, messages, posters int
		settle                         time.Duration
	}{
		{"10 rooms × 2, 1500 messages", 10, 2, 1500, 4, 0},
		{"50 rooms × 4, 20000 messages", 50, 4, 20000, 16, 62 * time.Second},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				spec := loadSpec{Backend: "bbolt", Replicas: 1, Tokens: 1, Rooms: tc.rooms, SubsPerRoom: tc.subs,
					Messages: tc.messages, Posters: tc.posters, PollSchedule: "@every 2s", Settle: tc.settle}
				poll, push := burstBothWays(b, bins, spec)
				b.ReportMetric(poll.Elapsed.Seconds(), "poll-s")
				b.ReportMetric(push.Elapsed.Seconds(), "push-s")
				b.ReportMetric(float64(poll.Calls), "poll-calls")
				b.ReportMetric(float64(push.Calls), "push-calls")
				b.ReportMetric(float64(poll.Deliveries)/float64(max(poll.Calls, 1)), "poll-deliveries/call")
				b.ReportMetric(float64(push.Deliveries)/float64(max(push.Calls, 1)), "push-deliveries/call")
				b.ReportMetric(push.Elapsed.Seconds()/poll.Elapsed.Seconds(), "time-ratio")
				b.ReportMetric(float64(push.Calls)/float64(max(poll.Calls, 1)), "calls-ratio")
			}
		})
	}
}

// burstBothWays runs spec's burst in a world without push, then in one with push, checks that
// every delivery came exactly once in each, and that push made no more HipChat calls.
func burstBothWays(tb testing.TB, bins loadBinaries, spec loadSpec) (poll, push loadResult) {
	tb.Helper()
	for _, withPush := range []bool{false, true} {
		spec.Push = withPush
		w := newLoadWorld(tb, bins, spec)
		r := w.burst(3 * time.Minute)
		checkExactlyOnce(tb, r, spec)
		logLoad(tb, map[bool]string{false: "polling", true: "push"}[withPush], spec, r, "")
		for _, p := range append(w.replicas, w.sim, w.sink) {
			p.stop()
		}
		if withPush {
			push = r
		} else {
			poll = r
		}
	}
	if push.Calls > poll.Calls {
		tb.Errorf("push made %d HipChat calls in the burst, polling %d", push.Calls, poll.Calls)
	}
	return poll, push
}

// checkExactlyOnce fails tb unless r delivered every message to every subscription of its room,
// each once.
func checkExactlyOnce(tb testing.TB, r loadResult, spec loadSpec) {
	tb.Helper()
	if want := spec.Messages * spec.SubsPerRoom; r.Deliveries != want || r.Repeats != 0 {
		tb.Fatalf("%d deliveries (want %d, each once), %d repeated", r.Deliveries, want, r.Repeats)
	}
}

// reportLoad reports r's rate and CPU per delivery.
func reportLoad(b *testing.B, r loadResult) {
	b.ReportMetric(r.DeliveriesPerSecond(), "deliveries/s")
	b.ReportMetric(r.CPUPerDelivery(r.ConnectorCPU), "connector-CPU-ms/delivery")
	b.ReportMetric(r.CPUPerDelivery(r.SimCPU), "emulator-CPU-ms/delivery")
	b.ReportMetric(r.CPUPerDelivery(r.SinkCPU), "sink-CPU-ms/delivery")
	if r.EtcdCPU > 0 {
		b.ReportMetric(r.CPUPerDelivery(r.EtcdCPU), "etcd-CPU-ms/delivery")
	}
	b.ReportMetric(float64(r.Calls), "hipchat-calls")
}

// logLoad prints one line of r for a person reading the run, with the machine's load.
func logLoad(tb testing.TB, name string, spec loadSpec, r loadResult, extra string) {
	load, _ := os.ReadFile("/proc/loadavg")
	tb.Logf("%s: %d messages × %d subscriptions in %d rooms of %d tokens, posted in %s: %d deliveries in %s (%.0f/s), %d repeated; "+
		"%d HipChat calls (%.1f deliveries a call; feed reads: %d on doorbells, %d on ticks); "+
		"CPU-ms per delivery: connector %.3f, emulator %.3f, sink %.3f, etcd %.3f, balancer %.3f; %d cores, load average %s. %s",
		name, r.Messages, spec.SubsPerRoom, spec.Rooms, spec.Tokens, r.Posting.Round(time.Millisecond), r.Deliveries,
		r.Elapsed.Round(time.Millisecond), r.DeliveriesPerSecond(), r.Repeats,
		r.Calls, float64(r.Deliveries)/float64(max(r.Calls, 1)), r.DoorbellReads, r.TickReads, r.CPUPerDelivery(r.ConnectorCPU), r.CPUPerDelivery(r.SimCPU),
		r.CPUPerDelivery(r.SinkCPU), r.CPUPerDelivery(r.EtcdCPU), r.CPUPerDelivery(r.BalancerCPU),
		runtime.NumCPU(), strings.TrimSpace(string(load)), extra)
}
