package actions

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"github.com/hipchat-connector/hipchat-connector/connector"
)

// CardInput is a notification's card as a designer fills it in: HipChat's card (spec/hipchat-v2.md
// §2.7) with its nested objects flattened to text fields. A designer wants a title, a line of text,
// a link and a picture, not HipChat's {"description":{"value","format"}} and {"thumbnail":{"url"}}.
//
// Validate asks what HipChat's own card schema asked (as its 400 printed it, captured in 2017 and
// followed by the emulator): a style and a title, the lengths and values below, and, per style, what
// HipChat's web client needed to show the card: a link card its description, an image card its url.
// The spec has neither (a gap); the connector refuses them here, before any call. It asks one thing
// more: every URL is an absolute http or https URL, since a card opens it in someone's browser.
type CardInput struct {
	Style             string               `json:"style"`             // file, image, application, link or media
	Title             string               `json:"title"`             // 1–500 characters
	Description       string               `json:"description"`       // up to 1,000 characters; required for a link card
	DescriptionFormat string               `json:"descriptionFormat"` // text (default) or html
	URL               string               `json:"url"`               // what the card opens; required for an image card
	Thumbnail         string               `json:"thumbnail"`         // an image URL, up to 250 characters
	Activity          string               `json:"activity"`          // one line of HTML above the card
	Format            string               `json:"format"`            // compact or medium
	Icon              string               `json:"icon"`              // an image URL
	ID                string               `json:"id"`                // lets HipChat recognise the same card sent again; made up when empty
	Attributes        []CardAttributeInput `json:"attributes"`        // up to MaxCardAttributes
}

// CardAttributeInput is one labelled value shown below a card.
type CardAttributeInput struct {
	Label string `json:"label"` // up to 50 characters
	Value string `json:"value"` // required
	URL   string `json:"url"`   // where the value links to
	Style string `json:"style"` // a lozenge: lozenge, lozenge-success, lozenge-error, lozenge-current, lozenge-complete, lozenge-moved
}

// Card limits, from HipChat's card schema.
const (
	MaxCardTitle       = 500
	MaxCardDescription = 1000
	MaxCardThumbnail   = 250 // the thumbnail's URL
	MaxCardAttributes  = 10
	MaxAttributeLabel  = 50
)

// The allowed values of a card's fields (spec/hipchat-v2.md §2.7).
var (
	CardStyles         = []string{"file", "image", "application", "link", "media"}
	CardFormats        = []string{"compact", "medium"}
	DescriptionFormats = []string{"text", "html"}
	AttributeLozenges  = []string{"lozenge", "lozenge-success", "lozenge-error", "lozenge-current", "lozenge-complete", "lozenge-moved"}
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
		atMostChars(name("thumbnail"), c.Thumbnail, MaxCardThumbnail),
		absoluteURL(name("thumbnail"), c.Thumbnail),
		oneOf(name("format"), c.Format, CardFormats...),
		absoluteURL(name("icon"), c.Icon),
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

// validateForStyle asks what HipChat's web client needed to show a card of its style.
func (c CardInput) validateForStyle(prefix string) error {
	switch {
	case c.Style == "link" && strings.TrimSpace(c.Description) == "":
		return &InvalidInput{Field: prefix + ".description", Code: CodeMissingField,
			Message: prefix + ".description is required for a card of style link: HipChat shows a link card by its title and description"}
	case c.Style == "image" && strings.TrimSpace(c.URL) == "":
		return &InvalidInput{Field: prefix + ".url", Code: CodeMissingField,
			Message: prefix + ".url is required for a card of style image: it is the image HipChat shows"}
	}
	return nil
}

func (a CardAttributeInput) validate(prefix string) error {
	return firstRefusal(
		atMostChars(prefix+".label", a.Label, MaxAttributeLabel),
		required(prefix+".value", a.Value),
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
