package hipchatsim

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// emoticon is one of the emulator's fixed set of global emoticons.
type emoticon struct {
	id            int
	shortcut      string
	width, height int
	file          *storedFile
}

// onePixelPNG is the image every emulated emoticon shows.
var onePixelPNG, _ = base64.StdEncoding.DecodeString(
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")

// emoticonShortcuts are a few of HipChat's well-known global emoticons.
var emoticonShortcuts = []string{"allthethings", "awthanks", "boom", "coffee", "facepalm", "success", "thumbsup", "yey"}

// addEmoticons installs the fixed set; called while s is constructed.
func (s *Server) addEmoticons() {
	for i, sc := range emoticonShortcuts {
		s.emoticons = append(s.emoticons, emoticon{id: i + 1, shortcut: sc, width: 30, height: 30,
			file: s.storeFile(sc+".png", "image/png", onePixelPNG)})
	}
}

func (e emoticon) stub(base string) map[string]any {
	return map[string]any{"id": e.id, "links": map[string]any{"self": base + "/v2/emoticon/" + strconv.Itoa(e.id)},
		"shortcut": e.shortcut, "url": e.file.url(base)}
}

// handleListEmoticons is GET /v2/emoticon: type global, group or all (default all; the group has no
// emoticons of its own), paged.
func handleListEmoticons(c *call) error {
	start, max, err := paging(c.query, 100)
	if err != nil {
		return err
	}
	kind := c.query.Get("type")
	if kind == "" {
		kind = "all"
	}
	if err := oneOf("type", kind, "global", "group", "all"); err != nil {
		return err
	}
	var items []any
	if kind != "group" {
		for _, e := range c.s.emoticons {
			items = append(items, e.stub(c.base()))
		}
	}
	return c.json(http.StatusOK, c.page(items, start, max))
}

// handleGetEmoticon is GET /v2/emoticon/{emoticon}: by id or shortcut.
func handleGetEmoticon(c *call) error {
	ref := c.r.PathValue("emoticon")
	for _, e := range c.s.emoticons {
		if strconv.Itoa(e.id) == ref || e.shortcut == ref {
			item := e.stub(c.base())
			item["audio_path"] = nil
			item["creator"] = nil
			item["height"] = e.height
			item["width"] = e.width
			item["type"] = "global"
			return c.json(http.StatusOK, item)
		}
	}
	return errorf(http.StatusNotFound, "Emoticon %s not found", ref)
}
