package main

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

const demoSummary = "run the emulator, the connector and a callback sink in one process and watch the triggers fire"

// demoConfig is the demo's command line.
type demoConfig struct {
	duration     time.Duration // 0: until Ctrl-C
	dbPath       string        // "": a temporary directory, removed at the end
	interval     time.Duration // between two scripted HipChat events
	pollSchedule string        // the connector's -poll-schedule
	verbose      bool          // the connector's JSON log to stderr
}

// parseDemoFlags reads the demo's flags. They come from the command line only: the demo must not
// pick up a production -db or -hipchat-url from HIPCHAT_CONNECTOR_* variables.
func parseDemoFlags(args []string, stderr io.Writer) (demoConfig, error) {
	var cfg demoConfig
	fs := newFlagSet("demo", demoSummary, stderr)
	fs.DurationVar(&cfg.duration, "duration", 0,
		"stop by itself after this `duration`, failing unless every trigger was delivered\n(0: run until Ctrl-C)")
	fs.StringVar(&cfg.dbPath, "db", "", "`path` of the connector's bbolt database (default: a temporary directory, removed)")
	fs.DurationVar(&cfg.interval, "interval", 5*time.Second, "`duration` between two scripted HipChat events")
	fs.StringVar(&cfg.pollSchedule, "poll-schedule", "@every 5s", "the connector's poll `spec`; production uses @every 1m")
	fs.BoolVar(&cfg.verbose, "v", false, "copy the connector's JSON log to stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hipchat-connector demo [flags]\n\n%s.\nThe flags are read from the command line only.\n\nflags:\n", demoSummary)
		fs.PrintDefaults()
	}
	noEnv := func(string) string { return "" }
	if _, err := parseFlags(fs, args, noEnv); err != nil {
		return cfg, err
	}
	switch {
	case cfg.duration < 0:
		return cfg, fmt.Errorf("-duration %s: must not be negative", cfg.duration)
	case cfg.interval <= 0:
		return cfg, fmt.Errorf("-interval %s: must be positive", cfg.interval)
	}
	return cfg, nil
}

// runDemo starts, on free loopback ports, the HipChat emulator, the connector (runServe, polling
// every 5 s) and a callback sink; seeds users and a room through the HipChat API; subscribes the sink
// to the three webhook triggers through the connector's API; then posts messages, notifications,
// files and rooms on a timer and prints each signed delivery as it arrives, until ctx ends or
// -duration has passed. Parts stop in order: the script, the connector, then the sink and the
// emulator. It prints a summary at the end.
//
// Errors: errUsage for a bad command line; a part that fails to start or stops on its own (the
// connector's log is then printed to stderr); any delivery whose signature did not verify; and, with
// -duration, a trigger that was never delivered.
func runDemo(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseDemoFlags(args, stderr)
	if err != nil {
		return err
	}
	dbPath, removeDir, err := demoDatabase(cfg.dbPath)
	if err != nil {
		return err
	}
	defer removeDir()
	out := &syncWriter{w: stdout}

	// HipChat's rate limit (100 calls per 5 minutes per token) is off: polling every 5 s makes about
	// 30 calls a minute. Flood control stays on, as in HipChat.
	emulator, err := hipchatsim.New(hipchatsim.Options{FloodLimit: hipchatsim.DefaultOptions().FloodLimit})
	if err != nil {
		return err
	}
	emulatorServer, err := listenLoopback("emulator", emulator)
	if err != nil {
		return err
	}
	sink := newCallbackSink(out)
	sinkServer, err := listenLoopback("callback sink", sink)
	if err != nil {
		emulatorServer.close()
		return err
	}
	logs := newLogTail(40)
	var logOut io.Writer = logs
	if cfg.verbose {
		logOut = io.MultiWriter(logs, stderr)
	}
	conn := &demoConnector{
		args: []string{
			"-addr", "127.0.0.1:0", "-hipchat-url", emulatorServer.URL(), "-db", dbPath,
			"-poll-schedule", cfg.pollSchedule, "-allow-private-callbacks",
		},
		logs:      logOut,
		listening: make(chan string, 1),
	}
	script := &demoScript{
		out:          out,
		hipchat:      simclient.New(emulatorServer.URL()),
		adminToken:   emulator.AdminToken(),
		connectorURL: conn.listening,
		sink:         sink,
		sinkURL:      sinkServer.URL(),
		interval:     cfg.interval,
		pollSchedule: cfg.pollSchedule,
		dbPath:       dbPath,
		keepDB:       cfg.dbPath != "",
	}

	runCtx := ctx
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	started := time.Now()
	// Ctrl-C: the connector finishes its deliveries and shuts down in order, which takes a few
	// seconds; say so at once rather than going quiet.
	stopSaying := context.AfterFunc(ctx, func() {
		fmt.Fprintln(out, "\nstopping: the connector finishes the deliveries in flight, then the emulator and the sink stop…")
	})
	defer stopSaying()
	parts, partsCtx := errgroup.WithContext(runCtx)
	connectorCtx, stopConnector := context.WithCancel(context.WithoutCancel(partsCtx))
	serversCtx, stopServers := context.WithCancel(context.WithoutCancel(partsCtx))
	defer stopConnector()
	defer stopServers()
	parts.Go(func() error {
		defer stopConnector()
		return script.Run(partsCtx)
	})
	parts.Go(func() error {
		defer stopServers() // the connector's last deliveries still reach the sink
		return conn.Run(connectorCtx)
	})
	parts.Go(func() error { return emulatorServer.Run(serversCtx) })
	parts.Go(func() error { return sinkServer.Run(serversCtx) })
	err = parts.Wait()
	stopSaying()

	summary := sink.summary()
	if script.subscribed.Load() {
		fmt.Fprintf(out, "\nsummary after %s: %s\n", time.Since(started).Round(time.Second), summary)
	}
	if err != nil {
		if tail := logs.String(); tail != "" {
			fmt.Fprintf(stderr, "the connector's last log lines:\n%s", tail)
		}
		return err
	}
	if summary.failed > 0 {
		return fmt.Errorf("%d deliveries failed signature verification", summary.failed)
	}
	if !script.subscribed.Load() && ctx.Err() == nil {
		return errors.New("the demo ended before its subscriptions were made; try a longer -duration")
	}
	if cfg.duration > 0 && ctx.Err() == nil {
		if missing := summary.missing(); len(missing) > 0 {
			return fmt.Errorf("no delivery of %v within -duration %s", missing, cfg.duration)
		}
	}
	return nil
}

// demoDatabase returns the bbolt path to use: dbPath when given, else connector.db in a new
// temporary directory, which the returned function removes.
func demoDatabase(dbPath string) (string, func(), error) {
	if dbPath != "" {
		return dbPath, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "hipchat-connector-demo-")
	if err != nil {
		return "", nil, fmt.Errorf("temporary directory: %w", err)
	}
	return filepath.Join(dir, "connector.db"), func() { _ = os.RemoveAll(dir) }, nil
}

// demoConnector runs the connector (the serve subcommand) in-process and reports the URL of its
// "listening on" line.
type demoConnector struct {
	args      []string
	logs      io.Writer
	listening chan string // receives the connector's URL once
}

// Run runs the connector until ctx ends. Errors: the connector's own (bad options, database, port),
// and stopping before ctx ended.
func (c *demoConnector) Run(ctx context.Context) error {
	stdout := &listenWatcher{found: c.listening}
	err := runServe(ctx, c.args, func(string) string { return "" }, stdout, c.logs)
	if err == nil && ctx.Err() == nil {
		err = errors.New("stopped by itself")
	}
	if err != nil {
		return fmt.Errorf("connector: %w", err)
	}
	return nil
}
