package triggers

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// Filter is a FilterSpec compiled once (its keywords folded, its pattern compiled) to match
// messages. A nil *Filter matches every message.
type Filter struct {
	mentions  int // user id; 0: no mentions filter
	atAll     bool
	keywords  []keyword
	pattern   *regexp.Regexp
	fromUser  int
	fromLabel string // folded
	include   Include
}

// Compile returns the filter of spec, nil for the zero spec (nothing filtered). Errors: a pattern
// that does not compile, or a user (mentions, from) that ResolveFilter has not looked up: a stored or
// signed spec always passed both, so this is a fault of the caller.
func (s FilterSpec) Compile() (*Filter, error) {
	if s.IsZero() {
		return nil, nil
	}
	if !s.Resolved() {
		return nil, fmt.Errorf("triggers: filter users not looked up (mentions %q, from %q)", givenOf(s.Mentions), givenOf(s.From))
	}
	f := &Filter{include: s.Include.orBoth(), atAll: !s.SkipAtAll}
	if s.Mentions != nil {
		f.mentions = s.Mentions.ID
	}
	if s.From != nil {
		f.fromUser = s.From.ID
	}
	if s.FromLabel != "" {
		f.fromLabel = foldText(s.FromLabel)
	}
	for _, k := range s.Keywords {
		f.keywords = append(f.keywords, newKeyword(k))
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return nil, fmt.Errorf("triggers: filter pattern: %w", err)
		}
		f.pattern = re
	}
	return f, nil
}

// Match reports whether m passes every part of the filter:
//   - include: a notification (type notification) or a post of a person (any other type);
//   - from: posted by the user, or a notification sent under the label (compared as keywords are);
//   - mentions: the user is in HipChat's mentions list of m, or m says @all or @here (unless the
//     filter leaves those out) where HipChat reads mentions: a person's message, or a notification
//     in the text format (HipChat gives an html notification no special treatment). A message the
//     user posted never mentions that user: HipChat notifies nobody of their own words, and "when
//     I'm @mentioned" is about others;
//   - keywords: m's text (an html notification as the room shows it: shownText), or the name of the
//     file it carries, contains one of them as a whole word;
//   - pattern: the pattern matches m's text or the name of its file.
//
// A deleted message (no text) matches no filter but the empty one.
func (f *Filter) Match(m connector.Message) bool {
	if f == nil {
		return true
	}
	if m.Deleted() {
		return false
	}
	return f.includes(m) && f.fromMatches(m) && f.mentionsMatch(m) && f.keywordsMatch(m) && f.patternMatches(m)
}

func (f *Filter) includes(m connector.Message) bool {
	switch f.include {
	case IncludeMessages:
		return m.Type != "notification"
	case IncludeNotifications:
		return m.Type == "notification"
	}
	return true
}

func (f *Filter) fromMatches(m connector.Message) bool {
	switch {
	case f.fromUser != 0:
		return m.From.User != nil && m.From.User.ID == f.fromUser
	case f.fromLabel != "":
		return m.From.User == nil && m.From.Label != "" && foldText(m.From.Label) == f.fromLabel
	}
	return true
}

func (f *Filter) mentionsMatch(m connector.Message) bool {
	if f.mentions == 0 {
		return true
	}
	if m.From.User != nil && m.From.User.ID == f.mentions {
		return false
	}
	for _, u := range m.Mentions {
		if u.ID == f.mentions {
			return true
		}
	}
	readsMentions := m.Type != "notification" || m.MessageFormat == "text"
	return f.atAll && readsMentions && mentionsEveryone(*m.Message)
}

// mentionsEveryone reports whether text says @all or @here as HipChat reads them: the "@" not inside
// a word or an address (not after a letter, digit, "_", "@" or "."), the name in any case and not
// continued by another letter, digit or "_".
func mentionsEveryone(text string) bool {
	for from := 0; ; {
		i := strings.IndexByte(text[from:], '@')
		if i < 0 {
			return false
		}
		at := from + i
		from = at + 1
		if at > 0 {
			prev, _ := utf8.DecodeLastRuneInString(text[:at])
			if isWordRune(prev) || prev == '@' || prev == '.' {
				continue
			}
		}
		for _, name := range []string{"all", "here"} {
			end := from + len(name)
			if end > len(text) || !strings.EqualFold(text[from:end], name) {
				continue
			}
			if next, _ := utf8.DecodeRuneInString(text[end:]); end == len(text) || !isWordRune(next) {
				return true
			}
		}
	}
}

func (f *Filter) keywordsMatch(m connector.Message) bool {
	if len(f.keywords) == 0 {
		return true
	}
	texts := []string{foldText(shownText(m))}
	if name := fileName(m); name != "" {
		texts = append(texts, foldText(name))
	}
	for _, k := range f.keywords {
		for _, text := range texts {
			if k.in(text) {
				return true
			}
		}
	}
	return false
}

func (f *Filter) patternMatches(m connector.Message) bool {
	if f.pattern == nil {
		return true
	}
	if f.pattern.MatchString(*m.Message) {
		return true
	}
	name := fileName(m)
	return name != "" && f.pattern.MatchString(name)
}

// htmlTag is one tag of an html notification.
var htmlTag = regexp.MustCompile(`<[^>]*>`)

// shownText is m's text as the room shows it: an html notification (any notification not in the
// text format, as mentionsMatch reads them) with each tag a space and its character references
// decoded; any other message as it is.
func shownText(m connector.Message) string {
	if m.Type != "notification" || m.MessageFormat == "text" {
		return *m.Message
	}
	return html.UnescapeString(htmlTag.ReplaceAllString(*m.Message, " "))
}

// fileName is the name of the file m carries, "" when none.
func fileName(m connector.Message) string {
	switch {
	case m.File != nil:
		return m.File.Name
	case m.AuthenticatedFile != nil:
		return m.AuthenticatedFile.Name
	}
	return ""
}
