package connector

import (
	"context"
	"net/url"
	"strconv"
)

// envelope is HipChat's collection answer; its keys are camelCase unlike everything else.
type envelope[T any] struct {
	Items      []T `json:"items"`
	StartIndex int `json:"startIndex"`
	MaxResults int `json:"maxResults"`
	Links      struct {
		Self string `json:"self"`
		Next string `json:"next"`
	} `json:"links"`
}

// maxPageSize is the largest page HipChat serves (max-results 0–1000); listings use it by default so
// they take as few calls as possible.
const maxPageSize = 1000

// listAll fetches path and follows links.next until it is missing or MaxPages pages were read, and
// returns every item in order. Reaching MaxPages is an error rather than a silent truncation.
func listAll[T any](ctx context.Context, c *Client, conn Connection, path string, query url.Values) ([]T, error) {
	if query == nil {
		query = url.Values{}
	}
	query.Set("max-results", strconv.Itoa(c.pageSize))
	req := request{method: "GET", path: path, query: query}
	var all []T
	for page := 0; ; page++ {
		if page == c.maxPages {
			return nil, &Error{Kind: KindUnavailable, Message: "HipChat kept paging past the connector's limit of " + strconv.Itoa(c.maxPages) + " pages"}
		}
		var env envelope[T]
		if err := c.call(ctx, conn, req, &env); err != nil {
			return nil, err
		}
		all = append(all, env.Items...)
		if env.Links.Next == "" || len(env.Items) == 0 {
			return all, nil
		}
		next, err := sameOrigin(conn.BaseURL, env.Links.Next)
		if err != nil {
			return nil, err
		}
		req = request{method: "GET", next: next}
	}
}

// sameOrigin resolves a links.next URL and refuses one that leaves the connection's HipChat, so the
// token is never sent elsewhere.
func sameOrigin(baseURL, next string) (string, error) {
	base, err := url.Parse(baseURL)
	if err != nil {
		return "", &Error{Kind: KindBadRequest, Message: "invalid HipChat base URL", Cause: err}
	}
	u, err := base.Parse(next)
	if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
		return "", &Error{Kind: KindUnavailable, Message: "HipChat's links.next points outside the HipChat server"}
	}
	return u.String(), nil
}
