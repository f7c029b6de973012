package server

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// The filter parameters, spelled once in package triggers: query parameters of the polling
// triggers, body members of the subscriptions.
const (
	paramMentions     = triggers.FieldMentions
	paramIncludeAtAll = triggers.FieldIncludeAtAll
	paramKeywords     = triggers.FieldKeywords
	paramPattern      = triggers.FieldPattern
	paramFrom         = triggers.FieldFrom
	paramInclude      = triggers.FieldInclude
)

// roomTrigger is a trigger as a route serves it, in either protocol: its kind and what its operation
// fixes of the filter.
type roomTrigger struct {
	kind triggers.Kind
	// mentionsMe: OnMention and OnMentionWebhook ("When I'm @mentioned"), whose mentions is me.
	mentionsMe bool
	// keywordsRequired: OnKeyword and OnKeywordWebhook ("When keywords are mentioned").
	keywordsRequired bool
}

// The triggers of the definition, by what they watch.
var (
	onNewMessage = roomTrigger{kind: triggers.KindMessage}
	onNewFile    = roomTrigger{kind: triggers.KindFile}
	onNewRoom    = roomTrigger{kind: triggers.KindRoom}
	onMention    = roomTrigger{kind: triggers.KindMessage, mentionsMe: true}
	onKeyword    = roomTrigger{kind: triggers.KindMessage, keywordsRequired: true}
)

// filter checks the filter parameters p for the trigger (triggers.ParseFilter) with what its
// operation fixes. Errors: 400 naming the parameter: those of ParseFilter, a mentions other than me
// on OnMention, no keywords on OnKeyword.
func (t roomTrigger) filter(p triggers.FilterParams) (triggers.FilterSpec, error) {
	if t.mentionsMe {
		if given := strings.TrimSpace(p.Mentions); given != "" && !strings.EqualFold(given, triggers.Me) {
			return triggers.FilterSpec{}, invalidField(paramMentions, CodeInvalidField,
				"this trigger fires when the connection's own user is mentioned (mentions=me); to watch another user, use the new-message trigger with mentions")
		}
		p.Mentions = triggers.Me
	}
	if t.keywordsRequired && strings.TrimSpace(p.Keywords) == "" {
		return triggers.FilterSpec{}, missingField(paramKeywords)
	}
	return triggers.ParseFilter(t.kind, p)
}

// filterFromQuery reads the filter parameters of a polling trigger's query. Errors: 400
// invalid_field for an includeAtAll that is not true or false.
func filterFromQuery(c *gin.Context) (triggers.FilterParams, error) {
	p := triggers.FilterParams{
		Mentions: c.Query(paramMentions), Keywords: c.Query(paramKeywords), Pattern: c.Query(paramPattern),
		From: c.Query(paramFrom), Include: c.Query(paramInclude),
	}
	if raw := strings.TrimSpace(c.Query(paramIncludeAtAll)); raw != "" {
		v, err := strconv.ParseBool(raw)
		if err != nil {
			return p, invalidField(paramIncludeAtAll, CodeInvalidField, "includeAtAll must be true or false")
		}
		p.IncludeAtAll = &v
	}
	return p, nil
}

// filterFromBody reads the filter members of a subscribe body. Errors, naming the member: 400
// invalid_field for one of the wrong JSON type (strings, and a boolean for includeAtAll).
func filterFromBody(body jsonBody) (triggers.FilterParams, error) {
	var p triggers.FilterParams
	for _, member := range []struct {
		name string
		into *string
	}{{paramMentions, &p.Mentions}, {paramKeywords, &p.Keywords}, {paramPattern, &p.Pattern}, {paramFrom, &p.From}, {paramInclude, &p.Include}} {
		v, err := body.optionalString(member.name)
		if err != nil {
			return p, err
		}
		*member.into = v
	}
	if body.has(paramIncludeAtAll) {
		var v bool
		if err := json.Unmarshal(body[paramIncludeAtAll], &v); err != nil {
			return p, invalidField(paramIncludeAtAll, CodeInvalidField, "includeAtAll must be true or false")
		}
		p.IncludeAtAll = &v
	}
	return p, nil
}
