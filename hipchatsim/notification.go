package hipchatsim

import (
	"math/rand/v2"
)

// colors are a notification's background colours; "random" picks one of them.
var colors = []string{"yellow", "green", "red", "purple", "gray"}

// readNotification validates a send-notification body (spec §2.7) with HipChat's validation texts
// (validation.go) and returns the post and the from label when one was given:
//
//   - message (required): 1–10000 characters;
//   - message_format: html (default) or text; color: yellow (default), green, red, purple, gray or
//     random, which picks one of the others; "" for either means the default;
//   - notify: a boolean ("true", a string, is HipChat's captured type error);
//   - from: 0–64 characters; attach_to: 0–36 characters;
//   - card: null or a card (card.go), stored as a JSON string.
//
// Other keys are ignored. The first fault found, in that order, is the 400.
func readNotification(f fields) (p post, label string, err error) {
	p = post{kind: "notification"}
	c := check(f)
	if p.text, _, err = c.str("message", true, 1, 10000); err != nil {
		return p, "", err
	}
	if p.format, err = c.choice("message_format", "html", "html", "text"); err != nil {
		return p, "", err
	}
	color, err := c.choice("color", "yellow", append(colors, "random")...)
	if err != nil {
		return p, "", err
	}
	if color == "random" {
		color = colors[rand.IntN(len(colors))] // #nosec G404 -- HipChat's "random" notification colour, nothing secret
	}
	p.color = &color
	if _, err := c.boolean("notify", false); err != nil {
		return p, "", err
	}
	if label, _, err = c.str("from", false, 0, 64); err != nil {
		return p, "", err
	}
	if p.attachTo, _, err = c.str("attach_to", false, 0, 36); err != nil {
		return p, "", err
	}
	if f.has("card") {
		if p.card, err = readCard(f["card"]); err != nil {
			return p, "", err
		}
	}
	return p, label, nil
}

// handleNotification is POST /v2/room/{room}/notification → 204 (spec §2.7). In history the item's
// from is a string: the from label when given, else the add-on's name, the room token's label or the
// user's name ([GAP] spec §6.7). A card is stored as a JSON string, as HipChat returned it.
func handleNotification(c *call) error {
	f, err := readJSON(c.r, false)
	if err != nil {
		return err
	}
	p, label, err := readNotification(f)
	if err != nil {
		return err
	}
	c.s.mu.RLock()
	t, err := c.roomTarget()
	switch {
	case label != "":
		p.label = label
	case c.tok.client != nil:
		p.label = c.tok.client.name
	case c.tok.user != nil:
		p.label = c.tok.user.name
	default:
		p.label = c.tok.label
	}
	if cl := c.tok.client; cl != nil {
		p.sender = marshal(map[string]string{"client_id": cl.id, "id": cl.name, "type": "addon"})
	}
	c.s.mu.RUnlock()
	if err != nil {
		return err
	}
	if _, err := c.deliver(t, p); err != nil {
		return err
	}
	return c.noContent()
}
