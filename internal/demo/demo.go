// Package demo is the newcomer's first command, `hipchat-connector demo`: it owns running the
// HipChat emulator, the connector and a verifying callback sink in one process, the script that
// seeds HipChat, subscribes the sink and makes events on a timer, and what the demo prints. It
// knows the connector only as the Serve function cmd hands it.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/hipchatsim/simclient"
)

// Config is one run of the demo: its command line and what it needs of the program.
type Config struct {
	Duration     time.Duration // 0: until ctx ends (Ctrl-C)
	DBPath       string        // "": a temporary directory, removed at the end
	Interval     time.Duration // between two scripted HipChat events
	PollSchedule string        // the connector's -poll-schedule
	Verbose      bool          // the connector's JSON log to Stderr too

	// Serve runs the connector (the serve subcommand) with args until ctx ends: it prints
	// "listening on URL" to stdout and its JSON log to stderr.
	Serve          func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	Stdout, Stderr io.Writer
}

// Run starts, on free loopback ports, the HipChat emulator, the connector (cfg.Serve) and a
// callback sink; seeds users and a room through the HipChat API; subscribes the sink to the three
// webhook triggers through the connector's API; then posts messages, notifications, files and
// rooms on a timer and prints each signed delivery as it arrives, until ctx ends or cfg.Duration
// has passed. Parts stop in order: the script, the connector, then the sink and the emulator. It
// prints a summary at the end.
//
// Errors: a part that fails to start or stops on its own (the connector's log is then printed to
// Stderr); any delivery whose signature did not verify; and, with a Duration, a trigger that was
// never delivered.
func Run(ctx context.Context, cfg Config) error {
	dbPath, removeDir, err := database(cfg.DBPath)
	if err != nil {
		return err
	}
	defer removeDir()
	operator, err := newOperatorCredential()
	if err != nil {
		return err
	}
	defer operator.remove()
	d, err := assemble(cfg, dbPath, operator)
	if err != nil {
		return err
	}
	runCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	started := time.Now()
	// Ctrl-C: the connector finishes its deliveries and shuts down in order, which takes a few
	// seconds; say so at once rather than going quiet.
	stopSaying := context.AfterFunc(ctx, func() {
		fmt.Fprintln(d.out, "\nstopping: the connector finishes the deliveries in flight, then the emulator and the sink stop…")
	})
	defer stopSaying()
	err = d.run(runCtx)
	stopSaying()
	return d.report(ctx, cfg, err, time.Since(started))
}

// parts are the demo's running pieces, as assemble makes them.
type parts struct {
	out      io.Writer
	stderr   io.Writer
	emulator *loopbackServer
	sink     *callbackSink
	sinkHTTP *loopbackServer
	conn     *connectorPart
	script   *script
	logs     *logTail
}

// assemble makes the emulator, the sink and their listeners, the connector (with the demo's
// operator credential) and the script. Errors: the emulator's options and binding a port.
func assemble(cfg Config, dbPath string, operator operatorCredential) (*parts, error) {
	out := &syncWriter{w: cfg.Stdout}
	// HipChat's rate limit (100 calls per 5 minutes per token) is off: polling every 5 s makes about
	// 30 calls a minute. Flood control stays on, as in HipChat.
	emulator, err := hipchatsim.New(hipchatsim.Options{FloodLimit: hipchatsim.DefaultOptions().FloodLimit})
	if err != nil {
		return nil, err
	}
	emulatorServer, err := listenLoopback("emulator", emulator)
	if err != nil {
		return nil, err
	}
	sink := newCallbackSink(out)
	sinkServer, err := listenLoopback("callback sink", sink)
	if err != nil {
		emulatorServer.close()
		return nil, err
	}
	d := &parts{out: out, stderr: cfg.Stderr, emulator: emulatorServer, sink: sink, sinkHTTP: sinkServer, logs: newLogTail(40)}
	var logOut io.Writer = d.logs
	if cfg.Verbose {
		logOut = io.MultiWriter(d.logs, cfg.Stderr)
	}
	d.conn = &connectorPart{
		serve: cfg.Serve,
		args: []string{
			"-addr", "127.0.0.1:0", "-hipchat-url", emulatorServer.URL(), "-db", dbPath,
			"-poll-schedule", cfg.PollSchedule, "-allow-private-callbacks", "-admin-token-file", operator.file,
		},
		logs:      logOut,
		listening: make(chan string, 1),
	}
	d.script = &script{
		out:          out,
		hipchat:      simclient.New(emulatorServer.URL()),
		adminToken:   emulator.AdminToken(),
		connectorURL: d.conn.listening,
		sink:         sink,
		sinkURL:      sinkServer.URL(),
		interval:     cfg.Interval,
		pollSchedule: cfg.PollSchedule,
		dbPath:       dbPath,
		keepDB:       cfg.DBPath != "",
		operator:     operator.token,
	}
	return d, nil
}

// run runs every part until ctx ends or one fails, and stops them in order: the script, the
// connector (whose last deliveries still reach the sink), then the emulator and the sink.
func (d *parts) run(ctx context.Context) error {
	group, groupCtx := errgroup.WithContext(ctx)
	connectorCtx, stopConnector := context.WithCancel(context.WithoutCancel(groupCtx))
	serversCtx, stopServers := context.WithCancel(context.WithoutCancel(groupCtx))
	defer stopConnector()
	defer stopServers()
	group.Go(func() error {
		defer stopConnector()
		return d.script.Run(groupCtx)
	})
	group.Go(func() error {
		defer stopServers()
		return d.conn.Run(connectorCtx)
	})
	group.Go(func() error { return d.emulator.Run(serversCtx) })
	group.Go(func() error { return d.sinkHTTP.Run(serversCtx) })
	return group.Wait()
}

// report prints the summary (once the subscriptions were made) and says whether the demo
// succeeded: err is the parts' own, ctx the caller's (ended by Ctrl-C).
func (d *parts) report(ctx context.Context, cfg Config, err error, took time.Duration) error {
	summary := d.sink.summary()
	if d.script.subscribed.Load() {
		fmt.Fprintf(d.out, "\nsummary after %s: %s\n", took.Round(time.Second), summary)
	}
	if err != nil {
		if tail := d.logs.String(); tail != "" {
			fmt.Fprintf(d.stderr, "the connector's last log lines:\n%s", tail)
		}
		return err
	}
	if summary.failed > 0 {
		return fmt.Errorf("%d deliveries failed signature verification", summary.failed)
	}
	if !d.script.subscribed.Load() && ctx.Err() == nil {
		return errors.New("the demo ended before its subscriptions were made; try a longer -duration")
	}
	if cfg.Duration > 0 && ctx.Err() == nil {
		if missing := summary.missing(); len(missing) > 0 {
			return fmt.Errorf("no delivery of %v within -duration %s", missing, cfg.Duration)
		}
	}
	return nil
}

// database returns the bbolt path to use: dbPath when given, else connector.db in a new temporary
// directory, which the returned function removes.
func database(dbPath string) (string, func(), error) {
	if dbPath != "" {
		return dbPath, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "hipchat-connector-demo-")
	if err != nil {
		return "", nil, fmt.Errorf("temporary directory: %w", err)
	}
	return filepath.Join(dir, "connector.db"), func() { _ = os.RemoveAll(dir) }, nil
}

// connectorPart runs the connector (Config.Serve) in-process and reports the URL of its
// "listening on" line.
type connectorPart struct {
	serve     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	args      []string
	logs      io.Writer
	listening chan string // receives the connector's URL once
}

// Run runs the connector until ctx ends. Errors: the connector's own (bad options, database, port),
// and stopping before ctx ended.
func (c *connectorPart) Run(ctx context.Context) error {
	stdout := &listenWatcher{found: c.listening}
	err := c.serve(ctx, c.args, stdout, c.logs)
	if err == nil && ctx.Err() == nil {
		err = errors.New("stopped by itself")
	}
	if err != nil {
		return fmt.Errorf("connector: %w", err)
	}
	return nil
}
