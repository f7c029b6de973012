package triggers_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

func TestParseFilterRefusesNamingTheField(t *testing.T) {
	no := false
	cases := map[string]struct {
		kind    triggers.Kind
		params  triggers.FilterParams
		field   string
		tooLong bool
	}{
		"invalid pattern":        {triggers.KindMessage, triggers.FilterParams{Pattern: "(outage"}, "pattern", false},
		"pattern of 257":         {triggers.KindMessage, triggers.FilterParams{Pattern: strings.Repeat("a", 257)}, "pattern", true},
		"perl lookahead":         {triggers.KindMessage, triggers.FilterParams{Pattern: "out(?=age)"}, "pattern", false},
		"no keyword in the list": {triggers.KindMessage, triggers.FilterParams{Keywords: " , ,"}, "keywords", false},
		"51 keywords":            {triggers.KindMessage, triggers.FilterParams{Keywords: manyKeywords(51)}, "keywords", true},
		"a keyword of 101":       {triggers.KindMessage, triggers.FilterParams{Keywords: "ok," + strings.Repeat("é", 101)}, "keywords", true},
		"include other":          {triggers.KindMessage, triggers.FilterParams{Include: "people"}, "include", false},
		"include on files":       {triggers.KindFile, triggers.FilterParams{Include: "messages"}, "include", false},
		"mentions of 257":        {triggers.KindMessage, triggers.FilterParams{Mentions: "@" + strings.Repeat("a", 256)}, "mentions", true},
		"any filter on rooms":    {triggers.KindRoom, triggers.FilterParams{Keywords: "launch"}, "keywords", false},
		"at-all switch on rooms": {triggers.KindRoom, triggers.FilterParams{IncludeAtAll: &no}, "includeAtAll", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := triggers.ParseFilter(tc.kind, tc.params)
			var invalid *triggers.InvalidFilter
			require.True(t, errors.As(err, &invalid), "got %v", err)
			assert.Equal(t, tc.field, invalid.Field)
			assert.Equal(t, tc.tooLong, invalid.TooLong)
			assert.NotEmpty(t, invalid.Message)
		})
	}
}

func manyKeywords(n int) string {
	var ks []string
	for i := 0; i < n; i++ {
		ks = append(ks, "kw"+strings.Repeat("z", i))
	}
	return strings.Join(ks, ",")
}

func TestParseFilterNormalizesAndRoundTripsThroughItsQuery(t *testing.T) {
	no := false
	spec, err := triggers.ParseFilter(triggers.KindMessage, triggers.FilterParams{
		Mentions: " ME ", IncludeAtAll: &no, Keywords: " Outage, incident,,OUTAGE ", Pattern: `INC-\d+`,
		From: "CI", Include: "Notifications",
	})
	require.NoError(t, err)
	assert.Equal(t, &triggers.UserRef{Given: "me"}, spec.Mentions)
	assert.True(t, spec.SkipAtAll)
	assert.Equal(t, []string{"Outage", "incident"}, spec.Keywords, "trimmed, each once, as matching compares them")
	assert.Equal(t, "CI", spec.FromLabel, "a name without @ is a notification's label")
	assert.Nil(t, spec.From)
	assert.Equal(t, triggers.IncludeNotifications, spec.Include)

	q := spec.Query()
	again, err := triggers.ParseFilter(triggers.KindMessage, triggers.FilterParams{
		Mentions: q.Get("mentions"), IncludeAtAll: boolParam(q.Get("includeAtAll")), Keywords: q.Get("keywords"),
		Pattern: q.Get("pattern"), From: q.Get("from"), Include: q.Get("include"),
	})
	require.NoError(t, err)
	assert.True(t, spec.SameRequest(again), "the query gives the same filter back")
	assert.Equal(t, spec, again)

	user, err := triggers.ParseFilter(triggers.KindFile, triggers.FilterParams{From: "@bob"})
	require.NoError(t, err)
	assert.Equal(t, &triggers.UserRef{Given: "@bob"}, user.From, "an @mention names a user")
	for _, given := range []string{"42", "bob@example.com", "Me"} {
		spec, err := triggers.ParseFilter(triggers.KindMessage, triggers.FilterParams{From: given})
		require.NoError(t, err)
		assert.NotNil(t, spec.From, given)
	}

	none, err := triggers.ParseFilter(triggers.KindMessage, triggers.FilterParams{Include: "both", IncludeAtAll: &no})
	require.NoError(t, err)
	assert.True(t, none.IsZero(), "include=both and a switch without mentions filter nothing")
	assert.Empty(t, none.Query())
}

func boolParam(v string) *bool {
	if v == "" {
		return nil
	}
	b := v == "true"
	return &b
}

// message builds a history item; from is a user stub (id > 0) or a label.
func message(typ, text string, from any, mentions ...int) connector.Message {
	m := connector.Message{ID: text, Type: typ, Message: &text, Mentions: []connector.UserStub{}}
	switch f := from.(type) {
	case int:
		m.From.User = &connector.UserStub{ID: f, MentionName: "user" + string(rune('a'+f))}
	case string:
		m.From.Label = f
	}
	for _, id := range mentions {
		m.Mentions = append(m.Mentions, connector.UserStub{ID: id})
	}
	return m
}

func compile(t *testing.T, spec triggers.FilterSpec) *triggers.Filter {
	t.Helper()
	f, err := spec.Compile()
	require.NoError(t, err)
	return f
}

const ann, bob = 2, 3

func TestFilterMatchesEveryGivenPart(t *testing.T) {
	annRef := &triggers.UserRef{Given: "me", ID: ann}
	notification := func(text, format string) connector.Message {
		m := message("notification", text, "CI")
		m.MessageFormat = format
		return m
	}
	withFile := message("message", "see attached", bob)
	withFile.File = &connector.File{Name: "outage-report.pdf"}
	deleted := message("message", "", bob, ann)
	deleted.Message = nil

	cases := []struct {
		name string
		spec triggers.FilterSpec
		m    connector.Message
		want bool
	}{
		{"no filter", triggers.FilterSpec{}, message("message", "hi", bob), true},
		{"mentioned", triggers.FilterSpec{Mentions: annRef}, message("message", "@ann look", bob, ann), true},
		{"someone else mentioned", triggers.FilterSpec{Mentions: annRef}, message("message", "@carl look", bob, 4), false},
		{"@all counts", triggers.FilterSpec{Mentions: annRef}, message("message", "@all standup!", bob), true},
		{"@HERE counts", triggers.FilterSpec{Mentions: annRef}, message("message", "ping @HERE.", bob), true},
		{"@all left out", triggers.FilterSpec{Mentions: annRef, SkipAtAll: true}, message("message", "@all standup", bob), false},
		{"@allison is no @all", triggers.FilterSpec{Mentions: annRef}, message("message", "@allison hi", bob), false},
		{"an address is no @all", triggers.FilterSpec{Mentions: annRef}, message("message", "mail ops@all.example", bob), false},
		{"(@here) counts", triggers.FilterSpec{Mentions: annRef}, message("message", "ping (@here)", bob), true},
		{"@@all is no @all", triggers.FilterSpec{Mentions: annRef}, message("message", "@@all x", bob), false},
		{"@here_ops is no @here", triggers.FilterSpec{Mentions: annRef}, message("message", "@here_ops x", bob), false},
		{"@all at the end", triggers.FilterSpec{Mentions: annRef}, message("message", "thanks @All", bob), true},
		{"own @all", triggers.FilterSpec{Mentions: annRef}, message("message", "@all I am out", ann), false},
		{"own self-mention", triggers.FilterSpec{Mentions: annRef}, message("message", "note to @ann", ann, ann), false},
		{"text notification @all", triggers.FilterSpec{Mentions: annRef}, notification("@all deploy", "text"), true},
		{"html notification @all", triggers.FilterSpec{Mentions: annRef}, notification("@all deploy", "html"), false},
		{"keyword", triggers.FilterSpec{Keywords: []string{"outage"}}, message("message", "Major OUTAGE now", bob), true},
		{"keyword inside a word", triggers.FilterSpec{Keywords: []string{"outage"}}, message("message", "outages happen", bob), false},
		{"second keyword", triggers.FilterSpec{Keywords: []string{"outage", "incident"}}, message("message", "incident #4", bob), true},
		{"keyword in a file name", triggers.FilterSpec{Keywords: []string{"outage"}}, withFile, true},
		{"pattern", triggers.FilterSpec{Pattern: `INC-\d{3}`}, message("message", "see INC-042", bob), true},
		{"pattern is case-sensitive", triggers.FilterSpec{Pattern: `INC-\d{3}`}, message("message", "see inc-042", bob), false},
		{"pattern on a file name", triggers.FilterSpec{Pattern: `\.pdf$`}, withFile, true},
		{"from a user", triggers.FilterSpec{From: &triggers.UserRef{Given: "@bob", ID: bob}}, message("message", "x", bob), true},
		{"from another user", triggers.FilterSpec{From: &triggers.UserRef{Given: "@bob", ID: bob}}, message("message", "x", ann), false},
		{"from a label", triggers.FilterSpec{FromLabel: "ci"}, notification("build green", "html"), true},
		{"a label is no user", triggers.FilterSpec{FromLabel: "usera"}, message("message", "x", 0), false},
		{"messages only", triggers.FilterSpec{Include: triggers.IncludeMessages}, notification("x", "html"), false},
		{"notifications only", triggers.FilterSpec{Include: triggers.IncludeNotifications}, notification("x", "html"), true},
		{"notifications only, a message", triggers.FilterSpec{Include: triggers.IncludeNotifications}, message("message", "x", bob), false},
		{"both parts hold", triggers.FilterSpec{Mentions: annRef, Keywords: []string{"outage"}}, message("message", "@ann outage!", bob, ann), true},
		{"one part fails", triggers.FilterSpec{Mentions: annRef, Keywords: []string{"outage"}}, message("message", "@ann lunch?", bob, ann), false},
		{"deleted", triggers.FilterSpec{Mentions: annRef}, deleted, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, compile(t, tc.spec).Match(tc.m))
		})
	}
}

func TestKeywordsAreWholeWordsCaseInsensitiveInAnyScript(t *testing.T) {
	cases := []struct {
		keyword, text string
		want          bool
	}{
		{"outage", "outage.", true},
		{"outage", "(Outage)", true},
		{"outage", "outage's cause", true},
		{"outage", "post-outage", true},
		{"outage", "outage_report", false},
		{"outage", "blackouts and outages", false},
		{"release train", "the Release \n  train", true}, // any run of spaces is one
		{"release train", "the RELEASE TRAIN leaves", true},
		{"c++", "we use C++ here", true},
		{"#ops", "ask in #ops", true},
		{"straße", "STRASSE", false}, // simple folding only: ß is not ss
		{"straße", "die Straße ist zu", true},
		{"ΣΟΦΙΑ", "σοφια", true},
		{"σοφιας", "ΣΟΦΙΑΣ", true}, // final sigma folds with Σ
		{"kelvin", "\u212Aelvin", true},
		{"café", "cafe\u0301 ouvert", true}, // NFC: e + combining acute is é
		{"café", "cafés", false},
		{"cafe", "café", false},
		{"outage", "ÜBERoutage", false},
		{"障害", "本番で障害が発生", true}, // Japanese has no spaces between words
		{"ล่ม", "ระบบล่มแล้ว", true},
		{"停电", "没有停", false},
		{"42", "incident 42!", true},
		{"42", "incident 420", false},
	}
	for _, tc := range cases {
		spec := triggers.FilterSpec{Keywords: []string{tc.keyword}}
		assert.Equal(t, tc.want, compile(t, spec).Match(message("message", tc.text, bob)), "%q in %q", tc.keyword, tc.text)
	}
}

// An html notification (HipChat's default format) is shown rendered: its tags are not words of it,
// and &amp; is an "&". Keywords look for whole words of what the room shows.
func TestKeywordsReadAnHTMLNotificationAsTheRoomShowsIt(t *testing.T) {
	notification := func(text, format string) connector.Message {
		m := message("notification", text, "CI")
		m.MessageFormat = format
		return m
	}
	cases := []struct {
		keyword string
		m       connector.Message
		want    bool
	}{
		{"amp", notification("Tom &amp; Jerry", "html"), false},
		{"code", notification("<code>make test</code> passed", "html"), false},
		{"href", notification(`<a href="https://ci.example.com/7">build 7</a> failed`, "html"), false},
		{"R&D", notification("<b>R&amp;D</b> review at 3", "html"), true},
		{"don't", notification("don&#39;t deploy", "html"), true},
		{"outage", notification("major<br>outage", "html"), true},
		{"amp", notification("Tom &amp; Jerry", "text"), true}, // text is shown as it is
	}
	for _, tc := range cases {
		spec := triggers.FilterSpec{Keywords: []string{tc.keyword}}
		assert.Equal(t, tc.want, compile(t, spec).Match(tc.m), "%q in %s %q", tc.keyword, tc.m.MessageFormat, *tc.m.Message)
	}
}

func TestCompileNeedsTheUsersLookedUp(t *testing.T) {
	_, err := triggers.FilterSpec{Mentions: &triggers.UserRef{Given: "me"}}.Compile()
	assert.Error(t, err, "a filter whose users were never looked up cannot match anyone")
	f, err := triggers.FilterSpec{}.Compile()
	require.NoError(t, err)
	assert.Nil(t, f)
	assert.True(t, f.Match(message("message", "anything", bob)), "a nil filter matches everything")
}

// FuzzFilter: any parameters either parse to a filter or are refused naming a parameter, and a
// parsed filter matches any text without panicking, the same way twice.
func FuzzFilter(f *testing.F) {
	f.Add("me", "outage, incident", `INC-\d+`, "CI", "both", "@ann the outage INC-7 @all")
	f.Add("", "障害,ล่ม", "(?i)café", "@bob", "messages", "本番で障害 cafe\u0301")
	f.Add("42", ",,", "(", "", "x", "")
	f.Fuzz(func(t *testing.T, mentions, keywords, pattern, from, include, text string) {
		spec, err := triggers.ParseFilter(triggers.KindMessage, triggers.FilterParams{
			Mentions: mentions, Keywords: keywords, Pattern: pattern, From: from, Include: include})
		if err != nil {
			var invalid *triggers.InvalidFilter
			if !errors.As(err, &invalid) || invalid.Field == "" {
				t.Fatalf("undocumented refusal %v", err)
			}
			return
		}
		if spec.Mentions != nil {
			spec.Mentions.ID = ann
		}
		if spec.From != nil {
			spec.From.ID = bob
		}
		filter, err := spec.Compile()
		if err != nil {
			t.Fatalf("a parsed filter does not compile: %v", err)
		}
		m := message("message", text, bob, ann)
		first := filter.Match(m)
		if again := filter.Match(m); again != first {
			t.Fatal("matching is not deterministic")
		}
		_ = filter.Match(message("notification", text, from))
	})
}

// RE2 runs in time linear in the text, times the size of the compiled program: a counted
// repetition of a few characters ([a-z]{1000}z, 12 characters) compiles to a thousand instructions
// and takes tenths of a second on each long message a poll scans (up to a thousand of them), so a
// single poll or tick runs for minutes. The pattern's program is bounded, not only its length; the
// patterns people write (ids, tickets, hashes, alternatives of words) stay well within it.
func TestParseFilterRefusesAPatternThatCompilesTooLarge(t *testing.T) {
	for _, pattern := range []string{
		`[a-z]{1000}z`,
		`(a|b){1000}z`,
		`(?i)(\pL|\pN){1000}!`,
		strings.Repeat(`.{1000}`, 36),
	} {
		_, err := triggers.ParseFilter(triggers.KindMessage, triggers.FilterParams{Pattern: pattern})
		var invalid *triggers.InvalidFilter
		require.True(t, errors.As(err, &invalid), "%.40s: got %v", pattern, err)
		assert.Equal(t, "pattern", invalid.Field)
		assert.NotEmpty(t, invalid.Message)
	}
	for _, pattern := range []string{
		`INC-\d{3}`, `\b[0-9a-f]{7,40}\b`, `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`,
		`(?i)\b(deploy|release|rollback|outage|incident)s?\b`, strings.Repeat("a", 256),
		strings.TrimSuffix(strings.Repeat("w|", 128), "|"),
	} {
		_, err := triggers.ParseFilter(triggers.KindMessage, triggers.FilterParams{Pattern: pattern})
		assert.NoError(t, err, "%.40s", pattern)
	}
}
