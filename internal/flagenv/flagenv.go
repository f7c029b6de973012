// Package flagenv parses a subcommand's flags from its command line and, for each flag not given
// there, from an environment variable named after it (-poll-schedule from
// HIPCHAT_CONNECTOR_POLL_SCHEDULE): the command line wins, and an error about a value names where
// it came from.
package flagenv

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// ErrHelp reports that -h was given and the usage printed; a caller treats it as success.
var ErrHelp = errors.New("help requested")

// ErrUsage reports that the command line was wrong and the usage has already been printed.
var ErrUsage = errors.New("usage")

// Name returns the environment variable with prefix that sets the flag called name.
func Name(prefix, name string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// NewFlagSet returns the flag set of subcommand name of program: it prints its errors and usage
// to stderr and never exits. envPrefix ("" for none) is the prefix of its environment variables,
// which the usage mentions.
func NewFlagSet(program, name, summary, envPrefix string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		from := "flags (command line only):"
		if envPrefix != "" {
			from = "flags (each also read from " + envPrefix + "<FLAG>; the command line wins):"
		}
		fmt.Fprintf(stderr, "usage: %s %s [flags]\n\n%s\n\n%s\n", program, name, summary, from)
		fs.PrintDefaults()
	}
	return fs
}

// Sources says where each flag's value came from, so that an error about a value can name its
// source: "-addr" or "HIPCHAT_SIM_ADDR".
type Sources map[string]string

// Of is the source of flag name: the environment variable that set it, else "-name".
func (s Sources) Of(name string) string {
	if env, ok := s[name]; ok {
		return env
	}
	return "-" + name
}

// Explain returns err with each flag the environment set also named by its variable, so that an
// operator who never typed the flag finds the setting. It relies on the checks' convention that an
// error about a flag's value names the flag before its first colon ("retention-max-age -1h0m0s:
// must be positive", "etcd-username and etcd-password: give both or neither"): each such name
// becomes "HIPCHAT_CONNECTOR_RETENTION_MAX_AGE (-retention-max-age)". Errors joined with
// errors.Join are explained one by one, and an explained error still wraps the original. Only
// names are added, never a value; nil stays nil.
func (s Sources) Explain(err error) error {
	if err == nil || len(s) == 0 {
		return err
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range joined.Unwrap() {
			errs = append(errs, s.Explain(e))
		}
		return errors.Join(errs...)
	}
	msg := err.Error()
	head, rest, hasColon := strings.Cut(msg, ":")
	words := strings.Split(head, " ")
	named := false
	for i, word := range words {
		flagName := strings.TrimPrefix(word, "-")
		if env, ok := s[flagName]; ok {
			words[i] = env + " (-" + flagName + ")"
			named = true
		}
	}
	if !named {
		return err
	}
	msg = strings.Join(words, " ")
	if hasColon {
		msg += ":" + rest
	}
	return explained{msg: msg, err: err}
}

// explained is an error that Explain renamed; it still wraps the original for errors.Is and As.
type explained struct {
	msg string
	err error
}

func (e explained) Error() string { return e.msg }
func (e explained) Unwrap() error { return e.err }

// Parse fills fs from args and then, for every flag not on the command line, from its environment
// variable (envPrefix; "" reads none), so a flag on the command line wins. Errors: ErrHelp after
// -h, ErrUsage for a bad command line (the flag package printed why), and a bad value in the
// environment, naming the variable.
func Parse(fs *flag.FlagSet, args []string, envPrefix string, getenv func(string) string) (Sources, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, ErrHelp
		}
		return nil, ErrUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %q\n", fs.Args())
		return nil, ErrUsage
	}
	sources := Sources{}
	if envPrefix == "" {
		return sources, nil
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := Name(envPrefix, f.Name)
		v := getenv(env)
		if v == "" || onCommandLine[f.Name] {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q (from the environment): %w", env, v, err))
			return
		}
		sources[f.Name] = env
	})
	return sources, errors.Join(errs...)
}
