package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/hipchatsim"
	"github.com/hipchat-connector/hipchat-connector/internal/serveconfig"
	"github.com/hipchat-connector/hipchat-connector/swagger"
)

// The README's examples are run here so that they cannot rot:
//
//   - every ```sh block runs with bash against a running demo, with the variables its export line
//     prints (HIPCHAT, ADMIN, CONNECTOR, TOKEN, ROOM, OPERATOR) and curl failing on HTTP errors
//     (--fail-with-body), unless the line before its fence is "<!-- not run: REASON -->";
//   - the ```go block (a complete callback receiver) is built as a package of this module, and built
//     and run against a connector by readme_receivers_test.go;
//   - the ```js blocks (the Node-RED, n8n and Express verifiers) are run against a connector by
//     readme_receivers_test.go, each found by the engine its first line names (readmeJSEngines);
//   - ```python blocks must parse (python3, when there is one);
//   - ```json blocks must parse; ```text blocks are output and are left alone;
//   - the flag tables list exactly the flags of `serve -h`, `demo -h` and `sim -h`, and every
//     hipchat_connector_ metric that /metrics exposes is named.

const readmePath = "../../README.md"

// readmeBlock is one fenced block of the README.
type readmeBlock struct {
	line   int    // of the opening fence, 1-based
	lang   string // the fence's info string
	body   string
	notRun string // the reason of a "<!-- not run: … -->" line right before the fence
}

func (b readmeBlock) String() string { return fmt.Sprintf("README.md:%d (%s)", b.line, b.lang) }

var notRunMarker = regexp.MustCompile(`^<!-- not run: (.+) -->$`)

// readmeBlocks parses the README's fenced blocks.
func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	raw, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	var blocks []readmeBlock
	var current *readmeBlock
	var previous string
	scanner := bufio.NewScanner(strings.NewReader(string(raw)))
	for n := 1; scanner.Scan(); n++ {
		line := scanner.Text()
		switch {
		case current == nil && strings.HasPrefix(line, "```"):
			current = &readmeBlock{line: n, lang: strings.TrimPrefix(line, "```")}
			if m := notRunMarker.FindStringSubmatch(previous); m != nil {
				current.notRun = m[1]
			}
		case current != nil && line == "```":
			blocks = append(blocks, *current)
			current = nil
		case current != nil:
			current.body += line + "\n"
		}
		previous = line
	}
	require.NoError(t, scanner.Err())
	require.Nil(t, current, "README.md: a fence opened at line %d is never closed", lineOf(current))
	return blocks
}

func lineOf(b *readmeBlock) int {
	if b == nil {
		return 0
	}
	return b.line
}

// TestReadmeBlocks checks the kinds of blocks: no example can escape the runner by its fence.
func TestReadmeBlocks(t *testing.T) {
	blocks := readmeBlocks(t)
	runnable, goBlocks := 0, 0
	for _, b := range blocks {
		switch b.lang {
		case "sh":
			if b.notRun == "" {
				runnable++
			}
		case "go":
			goBlocks++
		case "json":
			require.True(t, json.Valid([]byte(b.body)), "%s is not valid JSON", b)
		case "js":
			_, known := readmeJSEngine(b)
			require.True(t, known, "%s: a js block's first line names its engine, one of %v, so that a test runs it", b, readmeJSEngines)
		case "text", "python":
		default:
			t.Errorf("%s: a fence must be sh (run), go (compiled and run), js (run), python (parsed), json (parsed) or text (output)", b)
		}
		if b.notRun != "" {
			require.Equal(t, "sh", b.lang, "%s: only sh blocks can be marked not run", b)
		}
	}
	require.GreaterOrEqual(t, runnable, 5, "runnable sh blocks")
	require.Equal(t, 1, goBlocks, "go blocks")
	for _, engine := range readmeJSEngines {
		n := 0
		for _, b := range blocks {
			if e, _ := readmeJSEngine(b); b.lang == "js" && e == engine {
				n++
			}
		}
		require.Equal(t, 1, n, "js blocks for %s", engine)
	}
	require.Equal(t, "go run ./cmd/hipchat-connector demo\n", blocks[0].body, "the README opens with the run command")
	require.Equal(t, "go test -race ./...\n", blocks[1].body, "and then the test command")
}

// TestReadmeShellExamples runs every runnable sh block against one demo, in the README's order.
func TestReadmeShellExamples(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "sed"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "the README's examples need %s", tool)
	}
	demo := startDemo(t)
	dir := t.TempDir()
	for _, b := range readmeBlocks(t) {
		if b.lang != "sh" || b.notRun != "" {
			continue
		}
		t.Run(fmt.Sprintf("line %d", b.line), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			script := "set -euo pipefail\n" +
				"curl() { command curl --fail-with-body --max-time 30 \"$@\"; }\n" + b.body
			cmd := exec.CommandContext(ctx, "bash", "-c", script)
			cmd.Dir = dir
			cmd.Env = os.Environ()
			for name, value := range demo.exports {
				cmd.Env = append(cmd.Env, name+"="+value)
			}
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s failed:\n%s\noutput:\n%s", b, b.body, out)
		})
	}

	t.Run("metrics named", func(t *testing.T) {
		resp, err := http.Get(demo.exports["CONNECTOR"] + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		readme, err := os.ReadFile(readmePath)
		require.NoError(t, err)
		families := regexp.MustCompile(`(?m)^# HELP (hipchat_connector_\w+)`).FindAllStringSubmatch(string(body), -1)
		require.NotEmpty(t, families)
		for _, f := range families {
			require.Contains(t, string(readme), "`"+f[1], "README does not name the metric %s", f[1])
		}
	})

	stdout := demo.stop(t)
	require.NotContains(t, stdout, "FAILED", "the README's examples upset the demo")
}

// runningDemo is a demo started by startDemo.
type runningDemo struct {
	exports map[string]string // from its "export …" line
	stdout  *lockedBuffer
	stderr  *lockedBuffer
	cancel  context.CancelFunc
	done    chan error
}

// startDemo runs a fast demo until the test stops it, and returns once it printed its export line.
func startDemo(t *testing.T) *runningDemo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &runningDemo{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- run(ctx, fastDemoArgs(t), noEnv, d.stdout, d.stderr) }()
	t.Cleanup(func() { d.stop(t) })
	exportLine := regexp.MustCompile(`(?m)^  export (.+)$`)
	require.Eventually(t, func() bool { return exportLine.MatchString(d.stdout.String()) }, 30*time.Second, 10*time.Millisecond,
		"no export line; stdout:\n%s\nstderr:\n%s", d.stdout, d.stderr)
	d.exports = map[string]string{}
	for _, pair := range strings.Fields(exportLine.FindStringSubmatch(d.stdout.String())[1]) {
		name, value, ok := strings.Cut(pair, "=")
		require.True(t, ok, pair)
		d.exports[name] = value
	}
	for _, name := range []string{"HIPCHAT", "ADMIN", "CONNECTOR", "TOKEN", "ROOM", "OPERATOR"} {
		require.NotEmpty(t, d.exports[name], name)
	}
	return d
}

// stop ends the demo (as Ctrl-C would), requires a clean stop and returns what it printed.
func (d *runningDemo) stop(t *testing.T) string {
	t.Helper()
	d.cancel()
	select {
	case err, ok := <-d.done:
		if ok {
			close(d.done)
			require.NoError(t, err, "stderr:\n%s", d.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop")
	}
	return d.stdout.String()
}

// TestReadmeGoExampleCompiles builds the README's receiver as a package of this module (through an
// overlay, so nothing is written into the tree).
func TestReadmeGoExampleCompiles(t *testing.T) {
	t.Parallel()
	buildReadmeGoExample(t, os.DevNull)
}

// buildReadmeGoExample builds the README's Go block as a package of this module into the binary
// output (os.DevNull: only compiled).
func buildReadmeGoExample(t *testing.T, output string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command")
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	virtualDir := filepath.Join(root, "internal", "readmeexample")
	require.NoDirExists(t, virtualDir)

	var example string
	for _, b := range readmeBlocks(t) {
		if b.lang == "go" {
			example = b.body
		}
	}
	require.NotEmpty(t, example)
	dir := t.TempDir()
	source := filepath.Join(dir, "main.go")
	require.NoError(t, os.WriteFile(source, []byte(example), 0o644))
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(virtualDir, "main.go"): source}})
	require.NoError(t, err)
	overlayFile := filepath.Join(dir, "overlay.json")
	require.NoError(t, os.WriteFile(overlayFile, overlay, 0o644))

	// go build rather than go vet: vet changes into the package's directory, which exists only in the
	// overlay.
	cmd := exec.Command(goTool, "build", "-overlay", overlayFile, "-o", output, "./internal/readmeexample")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building the README's Go example:\n%s", out)
}

// TestReadmeFlagTables: each flag table lists exactly the subcommand's flags, and the configuration
// table names each flag's environment variable as the program derives it.
func TestReadmeFlagTables(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	sections := map[string]string{}
	for _, part := range strings.Split(string(raw), "\n## ")[1:] {
		title, body, _ := strings.Cut(part, "\n")
		sections[title] = body
	}
	row := regexp.MustCompile("(?m)^\\| `-([a-z-]+)` \\|(?: `([A-Z_]+)` \\|)?")
	for _, tc := range []struct{ section, subcommand string }{
		{"Configuration", "serve"},
		{"The demo", "demo"},
		{"The HipChat emulator", "sim"},
	} {
		t.Run(tc.subcommand, func(t *testing.T) {
			body, ok := sections[tc.section]
			require.True(t, ok, "no section %q", tc.section)
			var documented []string
			for _, m := range row.FindAllStringSubmatch(body, -1) {
				documented = append(documented, m[1])
				if tc.subcommand == "serve" {
					require.Equal(t, serveconfig.EnvName(m[1]), m[2], "environment variable of -%s", m[1])
				}
			}
			require.Equal(t, usageFlags(t, tc.subcommand), sortedCopy(documented))
		})
	}
	require.Contains(t, sections["Configuration"], "`"+serveconfig.KeyEnv+"`")
}

// usageFlags returns the flag names that `hipchat-connector <subcommand> -h` prints, sorted.
func usageFlags(t *testing.T, subcommand string) []string {
	t.Helper()
	stderr := &lockedBuffer{}
	require.NoError(t, run(context.Background(), []string{subcommand, "-h"}, noEnv, &lockedBuffer{}, stderr))
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(stderr.String(), -1) {
		names = append(names, m[1])
	}
	require.NotEmpty(t, names, stderr.String())
	return sortedCopy(names)
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// TestReadmeErrorTableNamesEveryCode: every Code* constant of server/errors.go is a row of the
// README's error table, so a new code cannot go undocumented.
func TestReadmeErrorTableNamesEveryCode(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "server", "errors.go"))
	require.NoError(t, err)
	readme, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	var rows []string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| 4") || strings.HasPrefix(line, "| 5") {
			rows = append(rows, line)
		}
	}
	table := strings.Join(rows, "\n")
	codes := regexp.MustCompile(`(?m)^\s+Code\w+\s+= "(\w+)"`).FindAllStringSubmatch(string(src), -1)
	require.GreaterOrEqual(t, len(codes), 20)
	for _, c := range codes {
		assert.Contains(t, table, "`"+c[1]+"`", "the README's error table lacks %s", c[1])
	}
}

// readmeJSEngines are the engines whose verifier the README shows in JavaScript; a js block's first
// line starts with "// " and one of them.
var readmeJSEngines = []string{"Node-RED", "n8n", "Express"}

// readmeJSEngine is the engine a js block is for, by its first line.
func readmeJSEngine(b readmeBlock) (string, bool) {
	first, _, _ := strings.Cut(b.body, "\n")
	for _, engine := range readmeJSEngines {
		if strings.HasPrefix(first, "// "+engine+" ") || strings.HasPrefix(first, "// "+engine+":") {
			return engine, true
		}
	}
	return "", false
}

// readmeJS returns the README's js block for engine.
func readmeJS(t *testing.T, engine string) string {
	t.Helper()
	for _, b := range readmeBlocks(t) {
		if e, _ := readmeJSEngine(b); b.lang == "js" && e == engine {
			return b.body
		}
	}
	t.Fatalf("the README has no js block for %s", engine)
	return ""
}

// TestReadmePythonExamplesParse: each python block is valid Python (python3's parser), so that a
// typo cannot hide in the one example no test runs. Skipped without python3.
func TestReadmePythonExamplesParse(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the README's Python example is not parsed")
	}
	n := 0
	for _, b := range readmeBlocks(t) {
		if b.lang != "python" {
			continue
		}
		n++
		cmd := exec.Command(python, "-c", "import ast, sys; ast.parse(sys.stdin.read())")
		cmd.Stdin = strings.NewReader(b.body)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s does not parse:\n%s", b, out)
	}
	require.Positive(t, n, "python blocks")
}

// TestReadmeEmulatorExamplesRunAgainstAnEmulatorAlone runs the runnable sh blocks of "The HipChat
// emulator" against an emulator started as that section starts one (sim's defaults, -admin-token
// demo-admin), with HIPCHAT and ADMIN the only variables set: they must not lean on a demo's
// TOKEN or ROOM. Every runnable block of the README also leaves the variables a demo exports as they
// were, so that examples followed in one shell do not overwrite them.
func TestReadmeEmulatorExamplesRunAgainstAnEmulatorAlone(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	lines := strings.Split(string(raw), "\n")
	from, to := 0, len(lines)
	for i, line := range lines {
		switch {
		case line == "## The HipChat emulator":
			from = i + 1
		case from > 0 && i >= from && strings.HasPrefix(line, "## ") && to == len(lines):
			to = i + 1
		}
	}
	require.Positive(t, from, "the README has a section The HipChat emulator")

	opts := hipchatsim.DefaultOptions()
	opts.AdminToken = "demo-admin"
	emulator, err := hipchatsim.New(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(emulator)
	t.Cleanup(ts.Close)
	dir := t.TempDir()
	demoVariable := regexp.MustCompile(`(?m)^\s*(?:export\s+)?(HIPCHAT|ADMIN|CONNECTOR|TOKEN|ROOM|OPERATOR)=`)
	ran := 0
	for _, b := range readmeBlocks(t) {
		if b.lang != "sh" || b.notRun != "" {
			continue
		}
		require.Nil(t, demoVariable.FindStringIndex(b.body), "%s sets a variable the demo exports", b)
		if b.line < from || b.line > to {
			continue
		}
		ran++
		script := "set -euo pipefail\ncurl() { command curl --fail-with-body --max-time 30 \"$@\"; }\n" + b.body
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "HIPCHAT=" + ts.URL, "ADMIN=demo-admin"}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s against an emulator alone:\n%s\noutput:\n%s", b, b.body, out)
	}
	require.GreaterOrEqual(t, ran, 3, "runnable blocks in The HipChat emulator")
}

// TestReadmeCountsTheDefinitionsOperations: the wizard step that says what the *Definition* tab holds
// counts the definition's actions (the operations that are no trigger and do not manage a
// subscription) and names every internal one among them, and counts its polling and webhook triggers.
func TestReadmeCountsTheDefinitionsOperations(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	text := strings.Join(strings.Fields(string(readme)), " ")
	m := regexp.MustCompile(`\*Definition\*: (\w+) actions, (\w+) of them internal \(([^)]*)\), (\w+) polling triggers, (\w+) webhook triggers`).FindStringSubmatch(text)
	require.NotNil(t, m, "the README's *Definition* step")
	words := map[string]int{"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20}

	ops, err := swagger.Operations()
	require.NoError(t, err)
	var actions, polling, webhooks int
	var internal []string
	for _, op := range ops {
		switch {
		case op.Trigger == "batch":
			polling++
		case op.Trigger == "single":
			webhooks++
		case strings.HasPrefix(op.Path, "/subscriptions"):
		default:
			actions++
			if op.Internal {
				internal = append(internal, op.ID)
			}
		}
	}
	assert.Equal(t, actions, words[m[1]], "actions: %q", m[0])
	assert.Equal(t, len(internal), words[m[2]], "internal actions: %q", m[0])
	for _, id := range internal {
		assert.Contains(t, m[3], "`"+id+"`", "the README names the internal action %s", id)
	}
	assert.Equal(t, polling, words[m[4]], "polling triggers: %q", m[0])
	assert.Equal(t, webhooks, words[m[5]], "webhook triggers: %q", m[0])
}
