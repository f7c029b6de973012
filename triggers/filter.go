package triggers

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Parameter names of the filters, as the connector definition spells them (query parameters of the
// polling triggers, body members of the subscriptions). An *InvalidFilter names one of them.
const (
	FieldMentions     = "mentions"
	FieldIncludeAtAll = "includeAtAll"
	FieldKeywords     = "keywords"
	FieldPattern      = "pattern"
	FieldFrom         = "from"
	FieldInclude      = "include"
)

// MetricFiltered names the counter of messages a filter left out, by trigger kind (message, file)
// and protocol (polling: the polling triggers; webhook: the subscriptions' poller). The HTTP home
// and the poller each count their own protocol under this one name and help.
const (
	MetricFiltered     = "hipchat_connector_messages_filtered_total"
	MetricFilteredHelp = "Messages of a trigger's kind that its filter left out (passed by the cursor, never returned or delivered), by kind and protocol (polling, webhook)."
)

// Me is the value of mentions (or from) that names the token's own user.
const Me = "me"

// Include says which posts of a room a message trigger takes: what people post, what integrations
// send, or both.
type Include string

// The values of Include; the empty one is IncludeBoth.
const (
	IncludeMessages      Include = "messages"      // posts of people (type message, with or without a file)
	IncludeNotifications Include = "notifications" // posts of integrations (type notification)
	IncludeBoth          Include = "both"
)

// FilterSpec is a trigger's filter as the flow gave it, and as it is stored with a subscription and
// carried in a polling trigger's state: plain data, JSON, compiled into a Filter where messages are
// matched. The zero FilterSpec lets every message through. Every given part must hold.
type FilterSpec struct {
	// Mentions keeps messages that mention this user.
	Mentions *UserRef `json:"mentions,omitempty"`
	// SkipAtAll leaves out @all and @here: only HipChat's mentions list counts (with Mentions only).
	SkipAtAll bool `json:"skip_at_all,omitempty"`
	// Keywords keeps messages that contain any of them as a whole word, case-insensitively.
	Keywords []string `json:"keywords,omitempty"`
	// Pattern keeps messages an RE2 regular expression matches.
	Pattern string `json:"pattern,omitempty"`
	// From keeps messages posted by this user; FromLabel, notifications sent under this label.
	From      *UserRef `json:"from,omitempty"`
	FromLabel string   `json:"from_label,omitempty"`
	// Include keeps messages, notifications or both ("" is both).
	Include Include `json:"include,omitempty"`
}

// UserRef is a user a filter names: as the flow gave it (me, an id, an email or an @mention) and, once
// HipChat was asked (ResolveFilter), who that is.
type UserRef struct {
	Given       string `json:"given"`
	ID          int    `json:"id,omitempty"`
	MentionName string `json:"mention_name,omitempty"`
}

// IsZero reports whether the spec filters nothing.
func (s FilterSpec) IsZero() bool {
	return s.Mentions == nil && len(s.Keywords) == 0 && s.Pattern == "" && s.From == nil && s.FromLabel == "" &&
		s.Include.orBoth() == IncludeBoth
}

// Resolved reports whether every user the spec names has a HipChat id (ResolveFilter ran).
func (s FilterSpec) Resolved() bool {
	return (s.Mentions == nil || s.Mentions.ID != 0) && (s.From == nil || s.From.ID != 0)
}

// SameRequest reports whether s and other are the same filter as the flow gave it, whoever the users
// turned out to be: a polling trigger's state carries the filter of the request that started it.
func (s FilterSpec) SameRequest(other FilterSpec) bool {
	return givenOf(s.Mentions) == givenOf(other.Mentions) && s.SkipAtAll == other.SkipAtAll &&
		slices.Equal(s.Keywords, other.Keywords) && s.Pattern == other.Pattern &&
		givenOf(s.From) == givenOf(other.From) && s.FromLabel == other.FromLabel &&
		s.Include.orBoth() == other.Include.orBoth()
}

// Clone is a copy of s that shares no memory with it.
func (s FilterSpec) Clone() FilterSpec {
	c := s
	if s.Mentions != nil {
		m := *s.Mentions
		c.Mentions = &m
	}
	if s.From != nil {
		f := *s.From
		c.From = &f
	}
	c.Keywords = slices.Clone(s.Keywords)
	return c
}

// Query is the spec as the query parameters of a polling trigger, in the form ParseFilter gives back
// as the same spec: what a Location carries beside the state.
func (s FilterSpec) Query() url.Values {
	q := url.Values{}
	if s.Mentions != nil {
		q.Set(FieldMentions, s.Mentions.Given)
		if s.SkipAtAll {
			q.Set(FieldIncludeAtAll, strconv.FormatBool(false))
		}
	}
	if len(s.Keywords) > 0 {
		q.Set(FieldKeywords, strings.Join(s.Keywords, ","))
	}
	if s.Pattern != "" {
		q.Set(FieldPattern, s.Pattern)
	}
	switch {
	case s.From != nil:
		q.Set(FieldFrom, s.From.Given)
	case s.FromLabel != "":
		q.Set(FieldFrom, s.FromLabel)
	}
	if s.Include.orBoth() != IncludeBoth {
		q.Set(FieldInclude, string(s.Include))
	}
	return q
}

func (i Include) orBoth() Include {
	if i == "" {
		return IncludeBoth
	}
	return i
}

func givenOf(u *UserRef) string {
	if u == nil {
		return ""
	}
	return u.Given
}
