package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

// script is the demo's person at the keyboard: it seeds HipChat, subscribes the sink through the
// connector's API, prints how to try things by hand, then makes HipChat events on a timer.
type script struct {
	out          io.Writer
	hipchat      *simclient.Client
	adminToken   string
	connectorURL <-chan string // the connector's URL, once it listens
	sink         *callbackSink
	sinkURL      string
	interval     time.Duration
	pollSchedule string
	dbPath       string
	keepDB       bool
	operator     string      // the connector's operator credential, printed: a local demo's
	subscribed   atomic.Bool // set once the three subscriptions exist
}

// seeded is what the script made.
type seeded struct {
	connector     string
	ann, bob      simclient.Person
	room          int
	subscriptions []subscription
}

const roomName = "Demo"

// subscription is one subscription as its 201 answer showed it.
type subscription struct {
	trigger  webhookTrigger
	callback string
	ID       string `json:"id"`
	Location string `json:"location"`
	Secret   string `json:"secret"`
}

// Run waits for the connector, seeds, subscribes and prints the introduction, then makes one HipChat
// event every interval until ctx ends. Errors: a failure to seed or subscribe; a failed event is
// printed and the script goes on.
func (s *script) Run(ctx context.Context) error {
	var connectorURL string
	select {
	case connectorURL = <-s.connectorURL:
	case <-ctx.Done():
		return nil
	}
	world, err := s.setUp(ctx, connectorURL)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	s.subscribed.Store(true)
	s.printIntro(world)
	ticker := time.NewTicker(s.interval)
	defer ticker.Stop()
	for step := 0; ; step++ {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := s.act(ctx, world, step); err != nil && ctx.Err() == nil {
			fmt.Fprintf(s.out, "%s  (step failed: %v)\n", time.Now().Format(time.TimeOnly), err)
		}
	}
}

// setUp waits for /readyz, makes Ann and Bob with personal tokens and Ann's private room with Bob in
// it, all through the HipChat API, then subscribes the sink to the three webhook triggers with Ann's
// token through the connector's API.
func (s *script) setUp(ctx context.Context, connectorURL string) (seeded, error) {
	w := seeded{connector: connectorURL}
	if err := waitReady(ctx, connectorURL); err != nil {
		return w, err
	}
	var err error
	if w.ann, err = s.hipchat.NewPerson(ctx, s.adminToken, "Ann Lee", "ann"); err != nil {
		return w, fmt.Errorf("seeding HipChat: %w", err)
	}
	if w.bob, err = s.hipchat.NewPerson(ctx, s.adminToken, "Bob Stone", "bob"); err != nil {
		return w, fmt.Errorf("seeding HipChat: %w", err)
	}
	if w.room, err = s.hipchat.CreateRoom(ctx, w.ann.Token, roomName, "private"); err != nil {
		return w, fmt.Errorf("seeding HipChat: %w", err)
	}
	if err := s.hipchat.AddMember(ctx, w.ann.Token, strconv.Itoa(w.room), w.bob.Email); err != nil {
		return w, fmt.Errorf("seeding HipChat: %w", err)
	}
	s.sink.nameRoom(w.room, roomName)
	for _, t := range webhookTriggers {
		sub, err := subscribe(ctx, connectorURL, w.ann.Token, t, strconv.Itoa(w.room), s.sinkURL+t.callbackPath())
		if err != nil {
			return w, err
		}
		if err := s.sink.expect(t, sub.Secret); err != nil {
			return w, err
		}
		w.subscriptions = append(w.subscriptions, sub)
	}
	return w, nil
}

// waitReady polls GET /readyz until it answers 200, for at most 20 s. Errors: the time running out.
func waitReady(ctx context.Context, baseURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("connector at %s not ready: %w", baseURL, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// subscribe calls the subscribe operation of trigger t (room ignored for rooms) with token and
// returns the subscription of the 201 answer, secret included. Errors: any other answer.
func subscribe(ctx context.Context, connectorURL, token string, t webhookTrigger, room, callback string) (subscription, error) {
	sub := subscription{trigger: t, callback: callback}
	path := t.subscribe
	if strings.Contains(path, "%s") {
		path = fmt.Sprintf(path, room)
	}
	body, err := json.Marshal(map[string]string{"callbackUrl": callback})
	if err != nil {
		return sub, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, connectorURL+path, bytes.NewReader(body))
	if err != nil {
		return sub, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return sub, fmt.Errorf("%s: %w", t.operationID, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return sub, fmt.Errorf("%s: %w", t.operationID, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return sub, fmt.Errorf("%s: POST %s answered %d: %s", t.operationID, path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &sub); err != nil {
		return sub, fmt.Errorf("%s: decoding %s: %w", t.operationID, raw, err)
	}
	if sub.Secret == "" {
		return sub, fmt.Errorf("%s: the 201 answer has no secret: %s", t.operationID, raw)
	}
	return sub, nil
}

// act makes the HipChat events of step, in turn: Bob posts a message and Ann replies under it
// (ReplyToMessage, through the connector); Bob shares a file and Ann puts the release in the room's
// topic (SetRoomTopic); Bob creates a room; an integration labelled "CI" sends a green notification
// with a card (SendNotification). Errors: HipChat's or the connector's answer.
func (s *script) act(ctx context.Context, w seeded, step int) error {
	round := step/4 + 1
	room := strconv.Itoa(w.room)
	switch step % 4 {
	case 0:
		id, err := s.hipchat.PostMessage(ctx, w.bob.Token, room, fmt.Sprintf("deploy #%d is out, @ann can you check the dashboard?", round))
		if err != nil {
			return err
		}
		return s.replyToBob(ctx, w, id, round)
	case 1:
		content := fmt.Sprintf("release %d\nall checks green\n", round)
		if err := s.hipchat.ShareFile(ctx, w.bob.Token, room, fmt.Sprintf("release-%d.txt", round), "text/plain", []byte(content), "release notes attached"); err != nil {
			return err
		}
		return s.setTopic(ctx, w, round)
	case 2:
		name := fmt.Sprintf("Launch %d", round)
		id, err := s.hipchat.CreateRoom(ctx, w.bob.Token, name, "public")
		if err == nil {
			s.sink.nameRoom(id, name)
		}
		return err
	default:
		return s.notifyBuild(ctx, w, round)
	}
}

// printIntro says what runs where, what was seeded and subscribed, how often the connector polls,
// and how to try the connector by hand with Ann's real token.
func (s *script) printIntro(w seeded) {
	out := &strings.Builder{}
	database := "database " + s.dbPath
	if !s.keepDB {
		database += ", removed at the end"
	}
	fmt.Fprintf(out, "hipchat-connector demo: HipChat emulator, connector and callback sink in one process\n\n")
	fmt.Fprintf(out, "  HipChat emulator  %s  (admin token %s; rate limits off, flood control on)\n", s.hipchat.BaseURL, s.adminToken)
	fmt.Fprintf(out, "  connector         %s  (%s; operator credential %s)\n", w.connector, database, s.operator)
	fmt.Fprintf(out, "  callback sink     %s  (verifies every delivery's Standard Webhooks signature)\n\n", s.sinkURL)
	fmt.Fprintf(out, "open in a browser:\n")
	fmt.Fprintf(out, "  sandbox page  %s/  (the emulator: sign in with the admin token above; rooms, history, post as anyone)\n", s.hipchat.BaseURL)
	fmt.Fprintf(out, "  console       %s/console  (the connector: sign in with Ann's token below for her subscriptions,\n", w.connector)
	fmt.Fprintf(out, "                and add the operator credential above to see every subscription and the instance's health)\n\n")
	fmt.Fprintf(out, "seeded through the HipChat API: %s (@%s) and %s (@%s) with personal access tokens,\n", w.ann.Name, w.ann.Mention, w.bob.Name, w.bob.Mention)
	fmt.Fprintf(out, "and %s's private room %q (id %d) with %s in it\n\n", w.ann.Name, roomName, w.room, w.bob.Name)
	fmt.Fprintf(out, "subscribed through the connector with Ann's token (201 + Location + a secret shown once):\n")
	for _, sub := range w.subscriptions {
		fmt.Fprintf(out, "  %-19s → %s   (DELETE %s to stop)\n", sub.trigger.operationID, sub.callback, sub.Location)
	}
	fmt.Fprintf(out, "\n%s — production default is 1 minute (-poll-schedule \"@every 1m\")\n", describeSchedule(s.pollSchedule))
	fmt.Fprintf(out, "push is on: the emulator's room webhooks ring the connector, which reads the room at once (each line says how long after the post it arrived)\n\n")

	auth := "'Authorization: Bearer " + w.ann.Token + "'"
	c := w.connector
	fmt.Fprintf(out, "try the connector by hand while the demo runs (Ann's connection):\n")
	fmt.Fprintf(out, "  curl -sS -H %s %s/rooms/%d/members\n", auth, c, w.room)
	fmt.Fprintf(out, "  curl -sS -H %s -H 'Content-Type: application/json' -d '{\"message\":\"hello from curl\"}' %s/rooms/%d/messages\n", auth, c, w.room)
	fmt.Fprintf(out, "  curl -si -H %s %s/triggers/rooms/%d/messages\n", auth, c, w.room)
	fmt.Fprintf(out, "      (a polling trigger: 202 and a Location; curl that Location after a post: 200 and the new messages)\n")
	fmt.Fprintf(out, "  curl -sS -H %s %s/subscriptions\n", auth, c)
	fmt.Fprintf(out, "or set these and run the README's examples:\n")
	fmt.Fprintf(out, "  export HIPCHAT=%s ADMIN=%s CONNECTOR=%s TOKEN=%s ROOM=%d OPERATOR=%s\n\n", s.hipchat.BaseURL, s.adminToken, c, w.ann.Token, w.room, s.operator)
	fmt.Fprintf(out, "every %s Bob posts a message, shares a file, creates a room or CI sends a notification; Ann replies to Bob\n", s.interval)
	fmt.Fprintf(out, "and sets the room's topic, and CI's notification carries a card, through the connector's actions\n")
	fmt.Fprintf(out, "(ReplyToMessage, SetRoomTopic, SendNotification: the lines that end \"through the connector\").\n")
	fmt.Fprintln(out, "a shared file shows twice: OnNewFileWebhook, and OnNewMessageWebhook for the message that carries it.")
	fmt.Fprintln(out, "deliveries:")
	_, _ = io.WriteString(s.out, out.String()) // the terminal's output; a failed write has nowhere to go
}

// describeSchedule says how often a cron spec polls, in words.
func describeSchedule(spec string) string {
	if every, ok := strings.CutPrefix(spec, "@every "); ok {
		if d, err := time.ParseDuration(every); err == nil {
			words := d.String()
			if strings.HasSuffix(words, "m0s") {
				words = strings.TrimSuffix(words, "0s") // 1m0s → 1m
			}
			if strings.HasSuffix(words, "h0m") {
				words = strings.TrimSuffix(words, "0m") // 1h0m → 1h
			}
			return "polling every " + words
		}
		return "polling every " + every
	}
	return "polling on the schedule " + strconv.Quote(spec)
}
