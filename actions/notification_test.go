package actions_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/actions"
)

// buildCard is a valid card of every field, for the refusals below to spoil one field at a time.
func buildCard() *actions.CardInput {
	return &actions.CardInput{Style: "application", Title: "Build #12", Description: "all green", DescriptionFormat: "text",
		URL: "https://ci.example.com/12", Thumbnail: "https://ci.example.com/12.png", Activity: "<b>CI</b> finished", Format: "medium",
		Icon: "https://ci.example.com/icon.png", ID: "build-12",
		Attributes: []actions.CardAttributeInput{{Label: "branch", Value: "main", URL: "https://git.example.com/main", Style: "lozenge-success"}}}
}

func TestSendNotificationInputNamesTheFieldAtFault(t *testing.T) {
	valid := func() actions.SendNotificationInput {
		return actions.SendNotificationInput{RoomID: "1", Message: "build passed", Color: "green", MessageFormat: "text",
			From: "CI", AttachTo: "5f7586a8-b71c-423c-ab11-bb2329d00201", Card: buildCard()}
	}
	require.NoError(t, valid().Validate())
	for name, tc := range map[string]struct {
		spoil                func(*actions.SendNotificationInput)
		field, code, message string
	}{
		"no room":              {func(in *actions.SendNotificationInput) { in.RoomID = "" }, "roomId", actions.CodeMissingField, "roomId" + blankMessage},
		"blank message":        {func(in *actions.SendNotificationInput) { in.Message = " " }, "message", actions.CodeMissingField, "message" + blankMessage},
		"message too long":     {func(in *actions.SendNotificationInput) { in.Message = strings.Repeat("é", 10001) }, "message", actions.CodeFieldTooLong, "message is 10001 characters long; HipChat takes at most 10000"},
		"unknown color":        {func(in *actions.SendNotificationInput) { in.Color = "blue" }, "color", actions.CodeInvalidField, `color is "blue"; it must be one of yellow, green, red, purple, gray, random`},
		"unknown format":       {func(in *actions.SendNotificationInput) { in.MessageFormat = "markdown" }, "messageFormat", actions.CodeInvalidField, `messageFormat is "markdown"; it must be one of html, text`},
		"from too long":        {func(in *actions.SendNotificationInput) { in.From = strings.Repeat("x", 65) }, "from", actions.CodeFieldTooLong, "from is 65 characters long; HipChat takes at most 64"},
		"attachTo too long":    {func(in *actions.SendNotificationInput) { in.AttachTo = strings.Repeat("x", 37) }, "attachTo", actions.CodeFieldTooLong, "attachTo is 37 characters long; HipChat takes at most 36"},
		"card without style":   {func(in *actions.SendNotificationInput) { in.Card.Style = "" }, "card.style", actions.CodeMissingField, "card.style" + blankMessage},
		"card style unknown":   {func(in *actions.SendNotificationInput) { in.Card.Style = "banner" }, "card.style", actions.CodeInvalidField, `card.style is "banner"; it must be one of file, image, application, link, media`},
		"card without title":   {func(in *actions.SendNotificationInput) { in.Card.Title = "" }, "card.title", actions.CodeMissingField, "card.title" + blankMessage},
		"card title too long":  {func(in *actions.SendNotificationInput) { in.Card.Title = strings.Repeat("t", 501) }, "card.title", actions.CodeFieldTooLong, "card.title is 501 characters long; HipChat takes at most 500"},
		"description too long": {func(in *actions.SendNotificationInput) { in.Card.Description = strings.Repeat("d", 1001) }, "card.description", actions.CodeFieldTooLong, "card.description is 1001 characters long; HipChat takes at most 1000"},
		"description format":   {func(in *actions.SendNotificationInput) { in.Card.DescriptionFormat = "rtf" }, "card.descriptionFormat", actions.CodeInvalidField, `card.descriptionFormat is "rtf"; it must be one of text, html`},
		"url not absolute":     {func(in *actions.SendNotificationInput) { in.Card.URL = "/builds/12" }, "card.url", actions.CodeInvalidField, "card.url must be an absolute http or https URL, such as https://example.com/page"},
		"thumbnail a file URL": {func(in *actions.SendNotificationInput) { in.Card.Thumbnail = "file:///etc/passwd" }, "card.thumbnail", actions.CodeInvalidField, "card.thumbnail must be an absolute http or https URL, such as https://example.com/page"},
		"format unknown":       {func(in *actions.SendNotificationInput) { in.Card.Format = "large" }, "card.format", actions.CodeInvalidField, `card.format is "large"; it must be one of compact, medium`},
		"link without description": {func(in *actions.SendNotificationInput) { in.Card.Style, in.Card.Description = "link", " " },
			"card.description", actions.CodeMissingField, "card.description is required for a card of style link: HipChat shows a link card by its title and description"},
		"image without url": {func(in *actions.SendNotificationInput) { in.Card.Style, in.Card.URL = "image", "" },
			"card.url", actions.CodeMissingField, "card.url is required for a card of style image: it is the image HipChat shows"},
		"thumbnail too long": {func(in *actions.SendNotificationInput) {
			in.Card.Thumbnail = "https://ci.example.com/" + strings.Repeat("t", 228)
		},
			"card.thumbnail", actions.CodeFieldTooLong, "card.thumbnail is 251 characters long; HipChat takes at most 250"},
		"icon not a URL":      {func(in *actions.SendNotificationInput) { in.Card.Icon = "icon.png" }, "card.icon", actions.CodeInvalidField, "card.icon must be an absolute http or https URL, such as https://example.com/page"},
		"too many attributes": {func(in *actions.SendNotificationInput) { in.Card.Attributes = make([]actions.CardAttributeInput, 11) }, "card.attributes", actions.CodeInvalidField, "card.attributes has 11 attributes; a card shows at most 10"},
		"attribute without value": {func(in *actions.SendNotificationInput) { in.Card.Attributes[0].Value = "" },
			"card.attributes[0].value", actions.CodeMissingField, "card.attributes[0].value" + blankMessage},
		"attribute label too long": {func(in *actions.SendNotificationInput) { in.Card.Attributes[0].Label = strings.Repeat("l", 51) },
			"card.attributes[0].label", actions.CodeFieldTooLong, "card.attributes[0].label is 51 characters long; HipChat takes at most 50"},
		"attribute lozenge unknown": {func(in *actions.SendNotificationInput) { in.Card.Attributes[0].Style = "pill" },
			"card.attributes[0].style", actions.CodeInvalidField, `card.attributes[0].style is "pill"; it must be one of lozenge, lozenge-success, lozenge-error, lozenge-current, lozenge-complete, lozenge-moved`},
		"attribute url relative": {func(in *actions.SendNotificationInput) { in.Card.Attributes[0].URL = "main" },
			"card.attributes[0].url", actions.CodeInvalidField, "card.attributes[0].url must be an absolute http or https URL, such as https://example.com/page"},
	} {
		t.Run(name, func(t *testing.T) {
			in := valid()
			tc.spoil(&in)
			assertRefused(t, in.Validate(), tc.field, tc.code, tc.message)
		})
	}
	assert.NoError(t, actions.SendNotificationInput{RoomID: "1", Message: "hi"}.Validate(), "everything else is optional")
	assert.NoError(t, actions.SendNotificationInput{RoomID: "1", Message: "hi", Color: "random",
		Card: &actions.CardInput{Style: "link", Title: "docs", Description: "the manual"}}.Validate())
	for _, style := range []string{"file", "media", "link"} {
		card := buildCard()
		card.Style = style
		assert.NoError(t, actions.SendNotificationInput{RoomID: "1", Message: "hi", Card: card}.Validate(), "a format is no fault of a %s card", style)
	}
}

func TestSendNotificationWithACard(t *testing.T) {
	w := newWorld(t)
	room := w.room(t, "Builds", "public")
	posted, err := w.sim.PostMessage(w.ctx, w.bob.Token, room, "is the build green?")
	require.NoError(t, err)

	card := buildCard()
	card.ID = ""
	done, err := actions.SendNotification(w.ctx, w.hipchat, w.conn(w.ann), actions.SendNotificationInput{
		RoomID: room, Message: "build <b>#12</b> passed", Color: "green", From: "CI", AttachTo: posted, Card: card})
	require.NoError(t, err)
	assert.Equal(t, "Notification sent to room "+room+" with an application card", done.Summary)

	last := w.last(t, room)
	assert.Equal(t, "notification", last.Type)
	assert.Equal(t, "green", last.Color)
	assert.Equal(t, "html", last.MessageFormat, "HipChat's default format when none is given")
	assert.Equal(t, "build <b>#12</b> passed", *last.Message)
	assert.Equal(t, posted, last.AttachTo)
	var sent struct {
		Style, ID, Title, Format, URL string
		Description                   struct{ Value, Format string }
		Thumbnail, Icon               struct{ URL string }
		Activity                      struct{ HTML string }
		Attributes                    []struct {
			Label string
			Value struct{ Label, URL, Style string }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(last.Card), &sent), "HipChat keeps the card as a JSON string: %s", last.Card)
	assert.Equal(t, "application", sent.Style)
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, sent.ID, "an id is made up when none is given")
	assert.Equal(t, "Build #12", sent.Title)
	assert.Equal(t, "medium", sent.Format)
	assert.Equal(t, struct{ Value, Format string }{"all green", "text"}, sent.Description, "the flat description becomes HipChat's {value, format}")
	assert.Equal(t, "https://ci.example.com/12.png", sent.Thumbnail.URL)
	assert.Equal(t, "https://ci.example.com/icon.png", sent.Icon.URL)
	assert.Equal(t, "<b>CI</b> finished", sent.Activity.HTML)
	require.Len(t, sent.Attributes, 1)
	assert.Equal(t, "branch", sent.Attributes[0].Label)
	assert.Equal(t, struct{ Label, URL, Style string }{"main", "https://git.example.com/main", "lozenge-success"}, sent.Attributes[0].Value)
}

func TestSendNotificationRefusesBeforeCallingHipChat(t *testing.T) {
	w := newWorld(t)
	room := w.room(t, "Builds", "public")
	before := w.calls(t, w.ann.Token)
	_, err := actions.SendNotification(w.ctx, w.hipchat, w.conn(w.ann), actions.SendNotificationInput{RoomID: room, Message: "hi", Color: "blue"})
	assertRefused(t, err, "color", actions.CodeInvalidField, `color is "blue"; it must be one of yellow, green, red, purple, gray, random`)
	_, err = actions.SendNotification(w.ctx, w.hipchat, w.conn(w.ann), actions.SendNotificationInput{RoomID: room, Message: "hi",
		Card: &actions.CardInput{Style: "image", Title: "chart"}})
	assertRefused(t, err, "card.url", actions.CodeMissingField, "card.url is required for a card of style image: it is the image HipChat shows")
	assert.Equal(t, before, w.calls(t, w.ann.Token))
}

func TestSendNotificationPassesHipChatErrorsOn(t *testing.T) {
	w := newWorld(t)
	room := w.room(t, "Builds", "public")
	noNotify := w.limitedToken(t, "send_message view_group view_room")
	_, err := actions.SendNotification(w.ctx, w.hipchat, connectorConn(noNotify, w.url), actions.SendNotificationInput{RoomID: room, Message: "hi"})
	assertScopeMissing(t, err, "send_notification")
}

// A card the connector accepts is one HipChat takes: the smallest valid card of each style, and the
// fullest, pass HipChat's card schema (the emulator's).
func TestEveryCardTheConnectorAcceptsHipChatTakes(t *testing.T) {
	w := newWorld(t)
	room := w.room(t, "Cards", "public")
	cards := map[string]*actions.CardInput{
		"fullest":     buildCard(),
		"file":        {Style: "file", Title: "notes.pdf"},
		"image":       {Style: "image", Title: "chart", URL: "https://ci.example.com/chart.png"},
		"application": {Style: "application", Title: "Build #7"},
		"link":        {Style: "link", Title: "docs", Description: "the manual"},
		"media":       {Style: "media", Title: "demo video"},
		"html description": {Style: "application", Title: "t", Description: "<b>bold</b>", DescriptionFormat: "html",
			Attributes: []actions.CardAttributeInput{{Value: "no label, no style"}}},
	}
	for name, card := range cards {
		t.Run(name, func(t *testing.T) {
			in := actions.SendNotificationInput{RoomID: room, Message: "card " + name, Card: card}
			require.NoError(t, in.Validate())
			_, err := actions.SendNotification(w.ctx, w.hipchat, w.conn(w.ann), in)
			require.NoError(t, err, "HipChat refused a card the connector accepted")
		})
	}
}
