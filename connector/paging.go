package connector

import (
	"context"
	"maps"
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

// listAll fetches path page by page until HipChat gives no links.next or MaxPages pages were read,
// and returns every item in order; id names an item. Reaching MaxPages is an error rather than a
// silent truncation.
//
// HipChat pages by offset (start-index), so an item deleted (or, in a list sorted by name, added)
// between two pages moves every later one a place, and the item that was first on the next page
// would be on neither: a room created since a trigger's cursor would never be seen, since the
// cursor moves past it. So each page after the first starts at the previous page's last item, read
// again; a page that does not begin with it means the list moved under the read, which starts over,
// at most maxListingRestarts times (then KindUnavailable). Pages of one item cannot overlap and are
// read by offset alone. Each next page is asked of the connection's HipChat with the listing's own
// query and start-index: links.next says only whether one follows.
func listAll[T any](ctx context.Context, c *Client, conn Connection, path string, query url.Values, id func(T) int) ([]T, error) {
	for range maxListingRestarts + 1 {
		items, moved, err := listOnce(ctx, c, conn, path, query, id)
		if err != nil || !moved {
			return items, err
		}
	}
	return nil, &Error{Kind: KindUnavailable, Message: "HipChat's list kept changing while the connector read it; try again"}
}

// maxListingRestarts bounds how often one listing starts over because the list moved under it.
const maxListingRestarts = 3

// listOnce reads the listing once (listAll); moved reports that a page did not begin with the
// previous page's last item.
func listOnce[T any](ctx context.Context, c *Client, conn Connection, path string, query url.Values, id func(T) int) (all []T, moved bool, err error) {
	first := maps.Clone(query)
	if first == nil {
		first = url.Values{}
	}
	first.Set("max-results", strconv.Itoa(c.pageSize))
	req := request{method: "GET", path: path, query: first}
	overlap := c.pageSize >= 2
	start := 0
	for page := 0; ; page++ {
		if page == c.maxPages {
			return nil, false, &Error{Kind: KindUnavailable, Message: "HipChat kept paging past the connector's limit of " + strconv.Itoa(c.maxPages) + " pages"}
		}
		var env envelope[T]
		if err := c.call(ctx, conn, req, &env); err != nil {
			return nil, false, err
		}
		items := env.Items
		if page > 0 && overlap {
			if len(items) == 0 || id(items[0]) != id(all[len(all)-1]) {
				return nil, true, nil
			}
			items = items[1:]
		}
		all = append(all, items...)
		if env.Links.Next == "" || len(items) == 0 {
			return all, false, nil
		}
		start += len(env.Items)
		if overlap {
			start-- // the next page begins with this one's last item
		}
		next := maps.Clone(first)
		next.Set("start-index", strconv.Itoa(start))
		req = request{method: "GET", path: path, query: next}
	}
}
