package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/internal/serveuntil"
)

const simSummary = "run the HipChat v2 emulator: an in-memory HipChat for tests, the demo and flow designers"

// runSim serves the HipChat v2 emulator until ctx ends. It binds -addr before serving, so a busy port
// is a startup error, and prints the URL it listens on, the group admin's token and the sandbox page's
// URL. Printing that token is deliberate: the emulator is a local sandbox and the token is how its
// user gets in (the page asks for it; it is never in the page).
func runSim(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", simSummary, stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "`host:port` to listen on")
	adminToken := fs.String("admin-token", "", "the group admin's personal access `token` (every scope); random when empty")
	defaults := hipchatsim.DefaultOptions()
	userLimit := fs.Int("user-rate-limit", defaults.UserRateLimit, "calls per 5 minutes for each user and personal token; 0 turns the limit off")
	addonLimit := fs.Int("addon-rate-limit", defaults.AddonRateLimit, "calls per 5 minutes for each add-on or room token; 0 turns the limit off")
	floodLimit := fs.Int("flood-limit", defaults.FloodLimit, "messages per minute per room and sender; 0 turns flood control off")
	fixtures := fs.String("fixtures", "", "JSON `file` to start with: {\"users\":[{name, email, mention_name, password, tokens:[{token, scopes}]}], \"addons\":[{client_id, client_secret, name, scopes}], \"rooms\":[{name, privacy, owner, topic, members, participants, notification_tokens, authenticated_files, messages:[{from | label, message, date, file:{name, content}}]}]}; users are named by email or @mention; -fixtures-example prints a complete one")
	fixturesExample := fs.Bool("fixtures-example", false, "print an example -fixtures file and exit")
	authenticatedFiles := fs.Bool("authenticated-files", false, "make every file share a secure one, as HipChat Server's secure file storage: history carries authenticated_file {id, name, size} instead of file")
	sources, err := parseFlags(fs, args, getenv)
	if err != nil {
		return err
	}
	if *fixturesExample {
		_, err := stdout.Write(hipchatsim.FixturesExample())
		return err
	}
	opts := hipchatsim.Options{
		AuthenticatedFiles: *authenticatedFiles,
		AdminToken:         *adminToken,
		UserRateLimit:      *userLimit,
		AddonRateLimit:     *addonLimit,
		FloodLimit:         *floodLimit,
	}
	if *fixtures != "" {
		f, err := hipchatsim.LoadFixtures(*fixtures)
		if err != nil {
			return fmt.Errorf("%s: %w", sources.Of("fixtures"), err)
		}
		opts.Fixtures = f
	}
	srv, err := hipchatsim.New(opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("%s: %w", sources.Of("addr"), err)
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "admin token: %s\n", srv.AdminToken())
	fmt.Fprintf(stdout, "sandbox page: http://%s/ (sign in with the admin token)\n", ln.Addr())
	return serveuntil.Serve(ctx, srv.HTTPServer(), ln, 5*time.Second)
}
