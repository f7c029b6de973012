package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hipchat-connector/hipchat-connector/server"
)

// GET /admin/subscriptions pages with ?limit= and ?cursor=: every subscription once, by id, in
// pages of limit with the total and the next page's cursor, the last page without one. Without a
// limit the answer is what it was before paging (every subscription, no total, no cursor). A bad
// limit or cursor is a 400 naming it.
func TestOperatorListPagesEverySubscriptionOnce(t *testing.T) {
	e := newEnvWith(t, true, operatorToken)
	room := e.room("Ops")
	var want []string
	for range 3 {
		want = append(want, e.subscribe(e.alice.Token, "messages", room).ID, e.subscribe(e.bob.Token, "", "").ID)
	}
	slices.Sort(want)

	list := func(query string) server.AdminSubscriptionList {
		t.Helper()
		resp := e.call("GET", "/admin/subscriptions"+query, operatorToken, nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var l server.AdminSubscriptionList
		resp.json(t, &l)
		return l
	}
	ids := func(l server.AdminSubscriptionList) []string {
		var out []string
		for _, item := range l.Items {
			out = append(out, item.ID)
		}
		return out
	}

	whole := list("")
	assert.Equal(t, want, ids(whole), "without a limit: all of them, by id")
	assert.Nil(t, whole.Total)
	assert.Empty(t, whole.NextCursor)

	var got []string
	pages := 0
	for cursor := ""; ; pages++ {
		page := list("?limit=4&cursor=" + url.QueryEscape(cursor))
		require.NotNil(t, page.Total)
		assert.Equal(t, 6, *page.Total, "the total counts every page")
		assert.LessOrEqual(t, len(page.Items), 4)
		got = append(got, ids(page)...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	assert.Equal(t, 1, pages, "two pages: 4, then 2")
	assert.Equal(t, want, got, "each subscription once, in order")

	paused := list("?status=paused&limit=4")
	assert.Empty(t, paused.Items)
	assert.Equal(t, 0, *paused.Total)
	assert.Empty(t, paused.NextCursor)

	for query, field := range map[string]string{"?limit=0": "limit", "?limit=501": "limit", "?limit=x": "limit", "?limit=2&cursor=!!": "cursor",
		"?cursor=zzz": "cursor", "?cursor=AA": "cursor"} {
		resp := e.call("GET", "/admin/subscriptions"+query, operatorToken, nil)
		assert.Equal(t, http.StatusBadRequest, resp.Status, query)
		code, named := resp.errorCode(t)
		assert.Equal(t, []string{server.CodeInvalidField, field}, []string{code, named}, query)
	}
}
