package actions

import (
	"crypto/rand"
	"fmt"
	"strconv"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// CardInput is a notification's card as a designer fills it in: HipChat's card (spec/hipchat-v2.md
// §2.7) with its nested objects flattened to text fields. A designer wants a title, a line of text,
// a link and a picture, not HipChat's {"description":{"value","format"}} and {"thumbnail":{"url"}}.
//
// What HipChat required of each style did not survive (spec gap); Validate asks what a card of the
// style cannot be shown without: a link or file card opens its url, an image or media card shows its
// thumbnail, and only an application card has a compact or medium format.
type CardInput struct {
	Style             string               `json:"style"`             // file, image, application, link or media
	Title             string               `json:"title"`             // 1–500 characters
	Description       string               `json:"description"`       // up to 1,000 characters
	DescriptionFormat string               `json:"descriptionFormat"` // text (default) or html
	URL               string               `json:"url"`               // what the card opens
	Thumbnail         string               `json:"thumbnail"`         // an image URL
	Activity          string               `json:"activity"`          // one line of HTML above the card
	Format            string               `json:"format"`            // compact or medium, application cards only
	Icon              string               `json:"icon"`              // an image URL
	ID                string               `json:"id"`                // lets HipChat recognise the same card sent again; made up when empty
	Attributes        []CardAttributeInput `json:"attributes"`        // up to MaxCardAttributes
}

// CardAttributeInput is one labelled value shown below a card.
type CardAttributeInput struct {
	Label string `json:"label"` // up to 50 characters
	Value string `json:"value"` // 1–100 characters
	URL   string `json:"url"`   // where the value links to
	Style string `json:"style"` // a lozenge: lozenge, lozenge-success, lozenge-error, lozenge-current, lozenge-complete, lozenge-moved
}

// Card limits. HipChat's own did not survive (spec gap); these keep a card readable.
const (
	MaxCardTitle       = 500
	MaxCardDescription = 1000
	MaxCardActivity    = 1000
	MaxCardID          = 100
	MaxCardAttributes  = 10
	MaxAttributeLabel  = 50
	MaxAttributeValue  = 100
)

// The allowed values of a card's fields (spec/hipchat-v2.md §2.7).
var (
	CardStyles          = []string{"file", "image", "application", "link", "media"}
	CardFormats         = []string{"compact", "medium"}
	DescriptionFormats  = []string{"text", "html"}
	AttributeLozenges   = []string{"lozenge", "lozenge-success", "lozenge-error", "lozenge-current", "lozenge-complete", "lozenge-moved"}
	stylesNeedingURL    = map[string]bool{"link": true, "file": true}
	stylesNeedingImage  = map[string]bool{"image": true, "media": true}
	stylesTakingFormats = map[string]bool{"application": true}
)

// validate refuses the first field of the card that cannot be sent, naming it under prefix
// ("card.title").
func (c CardInput) validate(prefix string) error {
	name := func(field string) string { return prefix + "." + field }
	checks := []error{
		required(name("style"), c.Style),
		oneOf(name("style"), c.Style, CardStyles...),
		required(name("title"), c.Title),
		atMostChars(name("title"), c.Title, MaxCardTitle),
		atMostChars(name("description"), c.Description, MaxCardDescription),
		oneOf(name("descriptionFormat"), c.DescriptionFormat, DescriptionFormats...),
		absoluteURL(name("url"), c.URL),
		absoluteURL(name("thumbnail"), c.Thumbnail),
		atMostChars(name("activity"), c.Activity, MaxCardActivity),
		oneOf(name("format"), c.Format, CardFormats...),
		absoluteURL(name("icon"), c.Icon),
		atMostChars(name("id"), c.ID, MaxCardID),
		c.validateForStyle(prefix),
	}
	if len(c.Attributes) > MaxCardAttributes {
		checks = append(checks, invalid(name("attributes"),
			fmt.Sprintf("%s has %d attributes; a card shows at most %d", name("attributes"), len(c.Attributes), MaxCardAttributes)))
	}
	for i, a := range c.Attributes {
		checks = append(checks, a.validate(name("attributes")+"["+strconv.Itoa(i)+"]"))
	}
	return firstRefusal(checks...)
}

// validateForStyle asks what a card of its style cannot be shown without.
func (c CardInput) validateForStyle(prefix string) error {
	switch {
	case stylesNeedingURL[c.Style] && c.URL == "":
		return &InvalidInput{Field: prefix + ".url", Code: CodeMissingField,
			Message: prefix + ".url is required for a card of style " + c.Style + ": it is what the card opens"}
	case stylesNeedingImage[c.Style] && c.Thumbnail == "":
		return &InvalidInput{Field: prefix + ".thumbnail", Code: CodeMissingField,
			Message: prefix + ".thumbnail is required for a card of style " + c.Style + ": it is what the card shows"}
	case c.Format != "" && !stylesTakingFormats[c.Style]:
		return invalid(prefix+".format", prefix+".format applies to cards of style application only; leave it empty for style "+c.Style)
	}
	return nil
}

func (a CardAttributeInput) validate(prefix string) error {
	return firstRefusal(
		atMostChars(prefix+".label", a.Label, MaxAttributeLabel),
		required(prefix+".value", a.Value),
		atMostChars(prefix+".value", a.Value, MaxAttributeValue),
		absoluteURL(prefix+".url", a.URL),
		oneOf(prefix+".style", a.Style, AttributeLozenges...),
	)
}

// hipchatCard is the card as HipChat takes it; id is used when the designer gave none.
func (c CardInput) hipchatCard(id string) *connector.Card {
	if c.ID != "" {
		id = c.ID
	}
	card := &connector.Card{Style: c.Style, ID: id, Title: c.Title, Format: c.Format, URL: c.URL}
	if c.Description != "" {
		format := c.DescriptionFormat
		if format == "" {
			format = "text"
		}
		card.Description = &connector.CardDescription{Value: c.Description, Format: format}
	}
	if c.Thumbnail != "" {
		card.Thumbnail = &connector.CardImage{URL: c.Thumbnail}
	}
	if c.Activity != "" {
		card.Activity = &connector.CardActivity{HTML: c.Activity}
	}
	if c.Icon != "" {
		card.Icon = &connector.CardImage{URL: c.Icon}
	}
	for _, a := range c.Attributes {
		card.Attributes = append(card.Attributes, connector.CardAttribute{Label: a.Label,
			Value: connector.CardAttributeValue{Label: a.Value, URL: a.URL, Style: a.Style}})
	}
	return card
}

// newCardID is a random UUID (version 4): a card's id when the designer gave none.
func newCardID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
