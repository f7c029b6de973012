package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hipchat-connector/hipchat-connector/webhook"
)

// loadResult is what one measured burst did: its deliveries from the first post to the last
// delivery, the HipChat calls of the connector's tokens meanwhile, and the CPU each part spent.
type loadResult struct {
	Messages, Deliveries, Repeats int
	Elapsed                       time.Duration
	Calls                         int
	DoorbellReads, TickReads      int           // the connectors' feed reads, by cause
	Posting                       time.Duration // first post to last post answered
	ConnectorCPU, SimCPU, SinkCPU time.Duration
	EtcdCPU, BalancerCPU          time.Duration
}

// DeliveriesPerSecond is the run's rate, first post to last delivery.
func (r loadResult) DeliveriesPerSecond() float64 { return float64(r.Deliveries) / r.Elapsed.Seconds() }

// CPUPerDelivery is ms of CPU per delivery.
func (r loadResult) CPUPerDelivery(cpu time.Duration) float64 {
	return float64(cpu.Microseconds()) / 1000 / float64(r.Deliveries)
}

// cpuSnapshot is the CPU time of each part of the world.
type cpuSnapshot struct{ connectors, sim, sink, etcd, balancer time.Duration }

func (w *loadWorld) cpu() cpuSnapshot {
	var s cpuSnapshot
	for _, r := range w.replicas {
		s.connectors += r.cpu()
	}
	s.sim, s.sink = w.sim.cpu(), w.sink.cpu()
	if w.etcd != nil {
		s.etcd = w.etcd.cpu()
	}
	if w.balancer != nil {
		s.balancer = w.balancer.cpu()
	}
	return s
}

// burst posts Messages messages in the rooms in turn, Posters clients at once, as fast as the
// emulator takes them, and waits until the sink has every delivery (each subscription of the room,
// each message); it fails tb when they stall for stall. Repeats are deliveries the sink got more
// than once (by webhook-id).
func (w *loadWorld) burst(stall time.Duration) loadResult {
	w.tb.Helper()
	before, calls, cpu := w.sinkStats(), w.calls(), w.cpu()
	doorbellReads, tickReads := w.sumMetric("hipchat_connector_push_reads_total"), w.sumMetric("hipchat_connector_poll_feeds_read_total")
	want := w.spec.Messages * w.spec.SubsPerRoom
	profiled := w.profile()
	defer profiled()
	start := time.Now()
	w.post(w.spec.Messages, w.rooms, "burst")
	posting := time.Since(start)
	var after sinkCounts
	progress, progressAt := -1, time.Now()
	for {
		after = w.sinkStats()
		if after.Unique-before.Unique >= want {
			break
		}
		if after.Unique != progress {
			progress, progressAt = after.Unique, time.Now()
		} else if time.Since(progressAt) > stall {
			w.tb.Fatalf("deliveries stalled at %d of %d for %s; connector log: %s", after.Unique-before.Unique, want, stall, w.replicas[0].tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	end := w.cpu()
	return loadResult{
		Messages: w.spec.Messages, Deliveries: after.Unique - before.Unique, Repeats: after.Repeats - before.Repeats,
		Elapsed: time.Unix(0, after.LastUnixNano).Sub(start), Calls: w.calls() - calls, Posting: posting,
		DoorbellReads: int(w.sumMetric("hipchat_connector_push_reads_total") - doorbellReads),
		TickReads:     int(w.sumMetric("hipchat_connector_poll_feeds_read_total") - tickReads),
		ConnectorCPU:  end.connectors - cpu.connectors, SimCPU: end.sim - cpu.sim, SinkCPU: end.sink - cpu.sink,
		EtcdCPU: end.etcd - cpu.etcd, BalancerCPU: end.balancer - cpu.balancer,
	}
}

// post posts n messages in rooms in turn, a client per poster at once, each taking the next
// message as soon as its last was answered. Errors fail tb.
func (w *loadWorld) post(n int, rooms []string, text string) {
	w.tb.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(w.posters))
	for _, poster := range w.posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if _, err := w.simc.PostMessage(context.Background(), poster.Token, rooms[i%len(rooms)], fmt.Sprintf("%s %d", text, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		w.tb.Fatal(err)
	}
}

// emulatorRate is the yardstick of the emulator: messages per second it takes from the same
// posters, posted as in burst to a room nobody watches (no webhook, no reader).
func (w *loadWorld) emulatorRate(n int) float64 {
	w.tb.Helper()
	id, err := w.simc.CreateRoom(context.Background(), w.posters[0].Token, "Yardstick", "public")
	if err != nil {
		w.tb.Fatal(err)
	}
	start := time.Now()
	w.post(n, []string{fmt.Sprint(id)}, "yardstick")
	return float64(n) / time.Since(start).Seconds()
}

// sinkRate is the yardstick of the sink: POSTs per second it takes from a plain client that signs
// each body as the connector does (webhook.NewRequest), 64 at once, over one subscription of its own.
func (w *loadWorld) sinkRate(n int) float64 {
	w.tb.Helper()
	secret, err := webhook.NewSecret()
	if err != nil {
		w.tb.Fatal(err)
	}
	suffix := make([]byte, 8)
	_, _ = rand.Read(suffix)
	sub := "yardstick-" + hex.EncodeToString(suffix)
	appendLine(w.tb, w.secrets, sub+" "+secret)
	payload := []byte(`{"id":"00000000-0000-0000-0000-000000000000","type":"message","date":"2026-01-01T00:00:00.000000+00:00",` +
		`"message":"a message of about the size the load posts","from":{"id":1,"mention_name":"poster0","name":"Poster 0"},` +
		`"mentions":[],"room":{"id":1,"name":"Load 0"}}`)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	defer transport.CloseIdleConnections()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				m := webhook.Message{ID: fmt.Sprintf("%s-%d", sub, i), Type: "message", SubscriptionID: sub, Payload: payload}
				req, err := webhook.NewRequest(context.Background(), w.sink.URL+"/hook", []string{secret}, m, time.Now(), "")
				if err == nil {
					err = answered(client.Do(req))
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		w.tb.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}

// answered reads and closes a 2xx answer; anything else is an error.
func answered(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// pprofLine is how a binary built with -tags loadprofile says where its profiles are.
var pprofLine = regexp.MustCompile(`pprof on (http://\S+)`)

// profile starts a CPU profile of each connector for -load.profile-for, written under
// -load.profile, and returns a function that waits for them; nothing without -load.profile.
func (w *loadWorld) profile() (wait func()) {
	if *loadProfile == "" {
		return func() {}
	}
	var wg sync.WaitGroup
	for i, r := range w.replicas {
		m := pprofLine.FindStringSubmatch(r.stderr.String())
		if m == nil {
			w.tb.Fatalf("%s serves no profiles (built without -tags loadprofile?)", r.name)
		}
		name := fmt.Sprintf("%s-%s-r%d.pprof", strings.ReplaceAll(w.tb.Name(), "/", "_"), map[bool]string{false: "poll", true: "push"}[w.spec.Push], i+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: *loadProfileFor + time.Minute}
			resp, err := client.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", m[1], int(loadProfileFor.Seconds())))
			if err != nil {
				w.tb.Error(err)
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if err := os.WriteFile(filepath.Join(*loadProfile, name), raw, 0o644); err != nil {
				w.tb.Error(err)
			}
		}()
	}
	return wg.Wait
}
