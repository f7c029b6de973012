package demo

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// syncWriter serializes writes: the script and the sink print to the same stdout at once.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p to the underlying writer, one caller at a time, and returns its result.
func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// listenWatcher is the in-process connector's stdout: it sends the URL of the first
// "listening on URL" line to found and discards the rest.
type listenWatcher struct {
	found chan<- string
	line  []byte
	done  bool
}

// Write looks for the "listening on" line in p; it never fails.
func (w *listenWatcher) Write(p []byte) (int, error) {
	if w.done {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for !w.done {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(w.line[:i]))
		w.line = w.line[i+1:]
		if url, ok := strings.CutPrefix(line, "listening on "); ok {
			w.found <- url
			w.done = true
		}
	}
	return len(p), nil
}

// logTail keeps the last lines written to it: the connector's JSON log, shown only when the demo
// fails.
type logTail struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  []byte
}

// newLogTail returns a logTail that keeps the last maxLines lines.
func newLogTail(maxLines int) *logTail { return &logTail{max: maxLines} }

// Write keeps the complete lines of p, dropping the oldest beyond the limit; it never fails.
func (t *logTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, p...)
	for {
		i := bytes.IndexByte(t.part, '\n')
		if i < 0 {
			break
		}
		t.lines = append(t.lines, string(t.part[:i+1]))
		t.part = t.part[i+1:]
		if len(t.lines) > t.max {
			t.lines = t.lines[len(t.lines)-t.max:]
		}
	}
	return len(p), nil
}

// String returns the kept lines.
func (t *logTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "") + string(t.part)
}
