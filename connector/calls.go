package connector

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// roomPath and userPath build the path of a room or user given by id or name; names are path-escaped
// (a space is %20: HipChat does not take +).
func roomPath(room string, rest string) string { return "/v2/room/" + pathSegment(room) + rest }
func userPath(user string) string              { return "/v2/user/" + pathSegment(user) }

// pathSegment escapes a room or user reference as one path segment. url.PathEscape leaves "." and
// ".." as they are, which a server resolves as dot segments: user ".." of DELETE
// /v2/room/{room}/member/.. would be DELETE /v2/room/{room}, the room itself. Their dots are
// percent-encoded, so that they stay a name HipChat looks up.
func pathSegment(ref string) string {
	if ref == "." || ref == ".." {
		return strings.Repeat("%2E", len(ref))
	}
	return url.PathEscape(ref)
}

// ListRooms returns every room visible to the connection, following all pages.
// includeArchived adds archived rooms. Errors are *Error.
func (c *Client) ListRooms(ctx context.Context, conn Connection, includeArchived bool) ([]Room, error) {
	q := url.Values{"include-archived": {strconv.FormatBool(includeArchived)}, "include-private": {"true"}}
	return listAll(ctx, c, conn, "/v2/room", q, func(r Room) int { return r.ID })
}

// ListMembers returns every member of a private room, following all pages. HipChat answers 400 for a
// public room, which surfaces as KindBadRequest with HipChat's message.
func (c *Client) ListMembers(ctx context.Context, conn Connection, room string) ([]UserStub, error) {
	return listAll(ctx, c, conn, roomPath(room, "/member"), nil, userID)
}

// GetUser returns one user by id, email or @mention name.
func (c *Client) GetUser(ctx context.Context, conn Connection, user string) (User, error) {
	var u User
	err := c.call(ctx, conn, request{method: "GET", path: userPath(user)}, &u)
	return u, err
}

// PostMessage posts message to room as the token's user. It is never retried: a POST whose answer
// was lost may have been posted.
func (c *Client) PostMessage(ctx context.Context, conn Connection, room, message string) (PostedMessage, error) {
	var posted PostedMessage
	err := c.call(ctx, conn, request{method: "POST", path: roomPath(room, "/message"), body: map[string]string{"message": message}}, &posted)
	return posted, err
}

// AddMember adds user to the private room as a room member.
func (c *Client) AddMember(ctx context.Context, conn Connection, room, user string) error {
	body := map[string][]string{"room_roles": {"room_member"}}
	return c.call(ctx, conn, request{method: "PUT", path: roomPath(room, "/member/"+pathSegment(user)), body: body}, nil)
}

// LatestHistory returns the newest max messages of room, oldest first, including deleted ones. With
// notBefore set, HipChat leaves out everything older than that message; if more than max messages are
// that new, the notBefore message itself is absent from the answer, which is how a gap shows.
func (c *Client) LatestHistory(ctx context.Context, conn Connection, room, notBefore string, max int) ([]Message, error) {
	return c.latest(ctx, conn, room, notBefore, max, true)
}

// RecentMessages is LatestHistory without the deleted messages, which HipChat leaves out
// (include_deleted=false): what a person reading the room sees.
func (c *Client) RecentMessages(ctx context.Context, conn Connection, room, notBefore string, max int) ([]Message, error) {
	return c.latest(ctx, conn, room, notBefore, max, false)
}

func (c *Client) latest(ctx context.Context, conn Connection, room, notBefore string, max int, includeDeleted bool) ([]Message, error) {
	// The query as url.Values.Encode writes it, keys in order.
	q := "include_deleted=" + strconv.FormatBool(includeDeleted) + "&max-results=" + strconv.Itoa(max)
	if notBefore != "" {
		q += "&not-before=" + url.QueryEscape(notBefore)
	}
	var env envelope[Message]
	if err := c.call(ctx, conn, request{method: "GET", path: roomPath(room, "/history/latest"), rawQuery: q}, &env); err != nil {
		return nil, err
	}
	return withTimes(env.Items), nil
}

// HistoryBefore returns one page of room history at or before date (and at or after endDate when not
// zero): the newest max such messages after skipping startIndex of them, oldest first, including
// deleted ones. more is true when HipChat has further messages on the next offset.
func (c *Client) HistoryBefore(ctx context.Context, conn Connection, room string, date, endDate time.Time, startIndex, max int) (page []Message, more bool, err error) {
	q := url.Values{
		"date":            {date.UTC().Format("2006-01-02T15:04:05.000000-07:00")},
		"start-index":     {strconv.Itoa(startIndex)},
		"max-results":     {strconv.Itoa(max)},
		"reverse":         {"true"},
		"include_deleted": {"true"},
	}
	if !endDate.IsZero() {
		q.Set("end-date", endDate.UTC().Format("2006-01-02T15:04:05.000000-07:00"))
	}
	var env envelope[Message]
	if err := c.call(ctx, conn, request{method: "GET", path: roomPath(room, "/history"), query: q}, &env); err != nil {
		return nil, false, err
	}
	return withTimes(env.Items), env.Links.Next != "" || len(env.Items) == max, nil
}

func withTimes(items []Message) []Message {
	for i := range items {
		items[i].Time = parseDate(items[i].Date)
	}
	return items
}
