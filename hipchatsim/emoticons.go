package hipchatsim

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// emoticonCatalog is the global catalog, one emoticon a line: HipChat's standard emoticons with
// their real shortcuts and, where a public record keeps it, HipChat's own id; "recorded" names that
// record, and its absence marks an assigned id (the package doc, section Emoticons).
//
//go:embed emoticon_catalog.json
var emoticonCatalog []byte

// catalogEntry is one line of emoticon_catalog.json.
type catalogEntry struct {
	ID       int    `json:"id"`
	Shortcut string `json:"shortcut"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Audio    string `json:"audio"`    // file name of its sound, "" for none
	Recorded string `json:"recorded"` // the public record of its id; "" for an assigned id
}

// emoticon is one of the emulator's global emoticons.
type emoticon struct {
	id            int
	shortcut      string
	width, height int
	file          *storedFile
	audio         *storedFile // nil: no sound
}

// onePixelPNG is the image every emulated emoticon shows.
var onePixelPNG, _ = base64.StdEncoding.DecodeString(
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")

// silentMP3 is the sound of every emoticon that has one: an MPEG frame header and nothing else.
var silentMP3 = []byte{0xff, 0xfb, 0x90, 0x64, 0x00}

// addEmoticons installs the catalog; called while s is constructed. A broken catalog is a build
// mistake, caught by the tests, so it panics.
func (s *Server) addEmoticons() {
	var entries []catalogEntry
	if err := json.Unmarshal(emoticonCatalog, &entries); err != nil {
		panic(fmt.Sprintf("hipchatsim: emoticon_catalog.json: %v", err))
	}
	for _, e := range entries {
		em := emoticon{id: e.ID, shortcut: e.Shortcut, width: e.Width, height: e.Height,
			file: s.storeFile(e.Shortcut+".png", "image/png", onePixelPNG)}
		if e.Audio != "" {
			em.audio = s.storeFile(e.Audio, "audio/mpeg", silentMP3)
		}
		s.emoticons = append(s.emoticons, em)
	}
}

func (e emoticon) stub(base string) map[string]any {
	return map[string]any{"id": e.id, "links": map[string]any{"self": base + "/v2/emoticon/" + strconv.Itoa(e.id)},
		"shortcut": e.shortcut, "url": e.file.url(base)}
}

// full is GET /v2/emoticon/{id}: the stub plus type, width, height, audio_path and creator (null for
// global emoticons).
func (e emoticon) full(base string) map[string]any {
	item := e.stub(base)
	var audio any
	if e.audio != nil {
		audio = e.audio.url(base)
	}
	item["audio_path"] = audio
	item["creator"] = nil
	item["height"] = e.height
	item["width"] = e.width
	item["type"] = "global"
	return item
}

// handleListEmoticons is GET /v2/emoticon: type global, group or all (default all; the group has no
// emoticons of its own), paged with start-index and max-results (default 100) like every list, and
// expand=items for full emoticons.
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
	expand := expands(c.query, "items")
	var items []any
	if kind != "group" {
		for _, e := range c.s.emoticons {
			if expand {
				items = append(items, e.full(c.base()))
			} else {
				items = append(items, e.stub(c.base()))
			}
		}
	}
	return c.json(http.StatusOK, c.page(items, start, max))
}

// handleGetEmoticon is GET /v2/emoticon/{emoticon}: by id or shortcut, with or without the
// parentheses ("yey" or "(yey)"); 404 when there is none.
func handleGetEmoticon(c *call) error {
	ref := c.r.PathValue("emoticon")
	shortcut := strings.TrimSuffix(strings.TrimPrefix(ref, "("), ")")
	for _, e := range c.s.emoticons {
		if strconv.Itoa(e.id) == ref || e.shortcut == shortcut {
			return c.json(http.StatusOK, e.full(c.base()))
		}
	}
	return errorf(http.StatusNotFound, "Emoticon %s not found", ref)
}
