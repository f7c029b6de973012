package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hipchat-connector/hipchat-connector/internal/demo"
)

const demoSummary = "run the emulator, the connector and a callback sink in one process and watch the triggers fire"

// runDemo runs the demo (package demo) with the connector's serve subcommand, which reads no
// environment either. Errors: errUsage for a bad command line, and demo.Run's.
func runDemo(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseDemoFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg.Stdout, cfg.Stderr = stdout, stderr
	cfg.Serve = func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return runServe(ctx, args, func(string) string { return "" }, stdout, stderr)
	}
	return demo.Run(ctx, cfg)
}

// parseDemoFlags reads the demo's flags. They come from the command line only: the demo must not
// pick up a production -db or -hipchat-url from HIPCHAT_CONNECTOR_* variables.
func parseDemoFlags(args []string, stderr io.Writer) (demo.Config, error) {
	var cfg demo.Config
	fs := newFlagSet("demo", demoSummary, stderr)
	fs.DurationVar(&cfg.Duration, "duration", 0,
		"stop by itself after this `duration`, failing unless every trigger was delivered\n(0: run until Ctrl-C)")
	fs.StringVar(&cfg.DBPath, "db", "", "`path` of the connector's bbolt database (default: a temporary directory, removed)")
	fs.DurationVar(&cfg.Interval, "interval", 5*time.Second, "`duration` between two scripted HipChat events")
	fs.StringVar(&cfg.PollSchedule, "poll-schedule", "@every 5s", "the connector's poll `spec`; production uses @every 1m")
	fs.BoolVar(&cfg.Verbose, "v", false, "copy the connector's JSON log to stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hipchat-connector demo [flags]\n\n%s.\nThe flags are read from the command line only.\n\nflags:\n", demoSummary)
		fs.PrintDefaults()
	}
	noEnv := func(string) string { return "" }
	if _, err := parseFlags(fs, args, noEnv); err != nil {
		return cfg, err
	}
	switch {
	case cfg.Duration < 0:
		return cfg, fmt.Errorf("-duration %s: must not be negative", cfg.Duration)
	case cfg.Interval <= 0:
		return cfg, fmt.Errorf("-interval %s: must be positive", cfg.Interval)
	}
	return cfg, nil
}
