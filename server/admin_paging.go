package server

import (
	"cmp"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hipchat-connector/hipchat-connector/state"
)

// maxAdminPage is the most subscriptions one page of GET /admin/subscriptions holds.
const maxAdminPage = 500

// adminPage is the paging asked of GET /admin/subscriptions: limit 0 means every subscription in
// one answer (the answer before paging existed); after is the id the page starts after.
type adminPage struct {
	limit int
	after string
}

// parseAdminPage reads ?limit= (1–500) and ?cursor= (the next_cursor of the page before).
// Errors: 400 invalid_field naming limit or cursor.
func parseAdminPage(limit, cursor string) (adminPage, error) {
	var page adminPage
	if limit = strings.TrimSpace(limit); limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > maxAdminPage {
			return page, invalidField("limit", CodeInvalidField, "limit must be a whole number from 1 to "+strconv.Itoa(maxAdminPage))
		}
		page.limit = n
	}
	if cursor = strings.TrimSpace(cursor); cursor != "" {
		after, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !readableID(after) {
			return page, invalidField("cursor", CodeInvalidField, "cursor must be the next_cursor of an earlier page, as given")
		}
		page.after = string(after)
	}
	return page, nil
}

// cut sorts subs by id and returns the page: the subscriptions after the cursor, at most limit of
// them, and the cursor of the next page ("" when this page is the last). Without a limit it returns
// every subscription after the cursor. A cursor is opaque to callers (the last id of the page,
// encoded), so a subscription deleted between two pages does not shift the next one.
func (p adminPage) cut(subs []state.Subscription) ([]state.Subscription, string) {
	slices.SortFunc(subs, func(a, b state.Subscription) int { return cmp.Compare(a.ID, b.ID) })
	start, _ := slices.BinarySearchFunc(subs, p.after, func(s state.Subscription, id string) int {
		if s.ID <= id {
			return -1
		}
		return 1
	})
	subs = subs[start:]
	if p.limit == 0 || len(subs) <= p.limit {
		return subs, ""
	}
	subs = subs[:p.limit]
	return subs, base64.RawURLEncoding.EncodeToString([]byte(subs[len(subs)-1].ID))
}

// readableID reports whether a decoded cursor can be a subscription id: 1 to state.MaxIDLength
// bytes of UTF-8 without control characters. Anything else was not given by an earlier page.
func readableID(id []byte) bool {
	if !state.ValidID(string(id)) || !utf8.Valid(id) {
		return false
	}
	return !strings.ContainsFunc(string(id), unicode.IsControl)
}
