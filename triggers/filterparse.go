package triggers

import (
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of a filter's parameters.
const (
	// MaxPatternChars bounds pattern, in characters: RE2 runs in time linear in the text, and a
	// bound on the pattern keeps its compiled program small too.
	MaxPatternChars = 256
	// maxPatternProgram bounds the compiled program of pattern, in RE2 instructions: matching costs
	// the text's length times the threads alive, up to one per instruction, and a counted repetition
	// (x{1000}) makes a few characters compile to thousands. Twice MaxPatternChars is more than a
	// pattern without large counts compiles to.
	maxPatternProgram = 2 * MaxPatternChars
	// MaxKeywords bounds how many keywords one filter lists, MaxKeywordChars each keyword.
	MaxKeywords     = 50
	MaxKeywordChars = 100
	// maxUserChars bounds mentions and from: an id, an email, an @mention or a label.
	maxUserChars = 256
)

// FilterParams are a filter's parameters as a request carries them, before any check. An empty
// string is a parameter not given.
type FilterParams struct {
	Mentions string
	// IncludeAtAll is nil when not given (then true: @all and @here count as mentions).
	IncludeAtAll *bool
	Keywords     string
	Pattern      string
	From         string
	Include      string
}

// InvalidFilter is the refusal of a filter parameter, made before any HipChat call or after HipChat
// said the user it names does not exist. It is the caller's fault: a 400 naming Field.
type InvalidFilter struct {
	Field   string // FieldMentions, FieldKeywords, …
	Message string // what is wrong, safe to show the caller
	TooLong bool   // the value is longer than allowed
}

func (e *InvalidFilter) Error() string { return "filter " + e.Field + ": " + e.Message }

// ParseFilter checks a message or file trigger's filter parameters and returns the filter they give,
// its users not yet looked up (ResolveFilter does that). Keywords are split on commas, trimmed, and
// listed once each; the pattern is compiled to check it. Errors: *InvalidFilter naming the
// parameter: a pattern that is not RE2 or longer than MaxPatternChars, more than MaxKeywords
// keywords or one longer than MaxKeywordChars, a keywords value with no keyword in it, an include
// that is not messages, notifications or both, include on a file trigger, any filter on a room
// trigger.
func ParseFilter(kind Kind, p FilterParams) (FilterSpec, error) {
	var spec FilterSpec
	if kind == KindRoom {
		return spec, refuseRoomFilter(p)
	}
	var err error
	if spec.Mentions, err = parseUser(FieldMentions, p.Mentions); err != nil {
		return FilterSpec{}, err
	}
	spec.SkipAtAll = spec.Mentions != nil && p.IncludeAtAll != nil && !*p.IncludeAtAll
	if spec.Keywords, err = parseKeywords(p.Keywords); err != nil {
		return FilterSpec{}, err
	}
	if spec.Pattern, err = parsePattern(p.Pattern); err != nil {
		return FilterSpec{}, err
	}
	if spec.From, spec.FromLabel, err = parseFrom(p.From); err != nil {
		return FilterSpec{}, err
	}
	if spec.Include, err = parseInclude(kind, p.Include); err != nil {
		return FilterSpec{}, err
	}
	return spec, nil
}

// refuseRoomFilter refuses the first filter parameter given to OnNewRoom: rooms have no text, author
// or mentions, and a filter silently ignored would deliver what the flow asked to leave out.
func refuseRoomFilter(p FilterParams) error {
	given := []struct{ field, value string }{{FieldMentions, p.Mentions}, {FieldKeywords, p.Keywords},
		{FieldPattern, p.Pattern}, {FieldFrom, p.From}, {FieldInclude, p.Include}}
	for _, g := range given {
		if strings.TrimSpace(g.value) != "" {
			return &InvalidFilter{Field: g.field, Message: g.field + " filters messages and files; the room trigger takes no filter"}
		}
	}
	if p.IncludeAtAll != nil {
		return &InvalidFilter{Field: FieldIncludeAtAll, Message: "includeAtAll filters messages; the room trigger takes no filter"}
	}
	return nil
}

// parseUser reads a user parameter: me, an id, an email or an @mention (nil when not given).
func parseUser(field, value string) (*UserRef, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil
	}
	if err := atMost(field, value, maxUserChars); err != nil {
		return nil, err
	}
	if strings.EqualFold(value, Me) {
		value = Me
	}
	return &UserRef{Given: value}, nil
}

// parseFrom reads from: a user when it is me, an id, an email or an @mention, else a notification's
// label (an integration's name such as "GitHub" or "CI").
func parseFrom(value string) (*UserRef, string, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, "", nil
	}
	if err := atMost(FieldFrom, value, maxUserChars); err != nil {
		return nil, "", err
	}
	if looksLikeUser(value) {
		user, err := parseUser(FieldFrom, value)
		return user, "", err
	}
	return nil, value, nil
}

// looksLikeUser reports whether a from value names a user rather than a notification's label:
// me, all digits (an id), or an @ (an @mention or an email).
func looksLikeUser(value string) bool {
	if strings.EqualFold(value, Me) || strings.Contains(value, "@") {
		return true
	}
	_, err := strconv.ParseUint(value, 10, 31)
	return err == nil
}

// parseKeywords splits a comma-separated list, trimmed, each keyword once (compared as matching
// compares them), in the order given.
func parseKeywords(value string) ([]string, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	var keywords []string
	seen := map[string]bool{}
	for _, k := range strings.Split(value, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if n := utf8.RuneCountInString(k); n > MaxKeywordChars {
			return nil, &InvalidFilter{Field: FieldKeywords, TooLong: true,
				Message: "the keyword " + strconv.Quote(truncate(k, 40)) + " is " + strconv.Itoa(n) + " characters long; at most " + strconv.Itoa(MaxKeywordChars)}
		}
		if folded := foldText(k); !seen[folded] {
			seen[folded] = true
			keywords = append(keywords, k)
		}
	}
	switch {
	case len(keywords) == 0:
		return nil, &InvalidFilter{Field: FieldKeywords, Message: "keywords lists no keyword: give one or more, separated by commas"}
	case len(keywords) > MaxKeywords:
		return nil, &InvalidFilter{Field: FieldKeywords, TooLong: true,
			Message: "keywords lists " + strconv.Itoa(len(keywords)) + " keywords; at most " + strconv.Itoa(MaxKeywords)}
	}
	return keywords, nil
}

// parsePattern checks an RE2 regular expression of at most MaxPatternChars characters. It is not
// trimmed (spaces can matter in a pattern); a blank one is no pattern.
func parsePattern(value string) (string, error) {
	if strings.TrimSpace(value) == "" {
		return "", nil
	}
	if n := utf8.RuneCountInString(value); n > MaxPatternChars {
		return "", &InvalidFilter{Field: FieldPattern, TooLong: true,
			Message: "pattern is " + strconv.Itoa(n) + " characters long; at most " + strconv.Itoa(MaxPatternChars)}
	}
	if _, err := regexp.Compile(value); err != nil {
		return "", &InvalidFilter{Field: FieldPattern,
			Message: "pattern is not an RE2 regular expression (" + strings.TrimPrefix(err.Error(), "error parsing regexp: ") + ")"}
	}
	if n := programSize(value); n > maxPatternProgram {
		return "", &InvalidFilter{Field: FieldPattern,
			Message: "pattern compiles to " + strconv.Itoa(n) + " steps; at most " + strconv.Itoa(maxPatternProgram) +
				" (a repetition such as {1000} counts its part that many times: use + or a smaller count)"}
	}
	return value, nil
}

// programSize is the number of instructions of pattern's compiled program, as package regexp
// compiles it; 0 when it does not compile.
func programSize(pattern string) int {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0
	}
	return len(prog.Inst)
}

// parseInclude reads include (both when not given); file triggers take none, a file being always a
// message.
func parseInclude(kind Kind, value string) (Include, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return "", nil
	}
	if kind == KindFile {
		return "", &InvalidFilter{Field: FieldInclude, Message: "include filters the message triggers; a file is always shared by a person"}
	}
	switch Include(strings.ToLower(value)) {
	case IncludeMessages:
		return IncludeMessages, nil
	case IncludeNotifications:
		return IncludeNotifications, nil
	case IncludeBoth:
		return "", nil
	}
	return "", &InvalidFilter{Field: FieldInclude, Message: "include must be messages (posts of people), notifications (posts of integrations) or both"}
}

func atMost(field, value string, limit int) error {
	if n := utf8.RuneCountInString(value); n > limit {
		return &InvalidFilter{Field: field, TooLong: true,
			Message: field + " is " + strconv.Itoa(n) + " characters long; at most " + strconv.Itoa(limit)}
	}
	return nil
}

// truncate shortens s to at most n characters for a message.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
