package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/connector"
	"github.com/hipchat-connector/hipchat-connector/state"
)

// OperatorStore is what the operator routes need of the state beyond SubscriptionStore;
// *bolt.Store is one.
type OperatorStore interface {
	// AllSubscriptions lists every connection's subscriptions (status "" for all), without
	// tokens or secrets.
	AllSubscriptions(status state.Status) ([]state.Subscription, error)
	// BackupSized tells the size of a consistent copy of the database, then writes it.
	BackupSized(size func(int64), w io.Writer) (int64, error)
}

// operatorAPI serves the operator routes under /admin/: a backup of the database and every
// connection's subscriptions. They take the operator credential (Options.AdminToken), never a
// HipChat token, and are not operations of the connector definition.
type operatorAPI struct {
	subs     subscriptionAPI
	store    OperatorStore
	tokenSum [sha256.Size]byte
	now      func() time.Time
}

// AdminSubscription is a subscription as the operator sees it: the subscriber's view and the
// connection it belongs to (a hash of the token, never the token).
type AdminSubscription struct {
	ConnectionID string `json:"connection_id"`
	Subscription
}

// AdminSubscriptionList is the answer of GET /admin/subscriptions: the subscriptions of the page, by
// id. With ?limit=, Total counts every subscription of the status asked for (all pages) and
// NextCursor, when more follow, is the ?cursor= of the next page; without it, both are absent and
// Items holds them all.
type AdminSubscriptionList struct {
	Items      []AdminSubscription `json:"items"`
	Total      *int                `json:"total,omitempty"`
	NextCursor string              `json:"next_cursor,omitempty"`
}

// requireOperator lets a request through only with the operator credential in Authorization
// (Bearer <token>, or the bare token); the comparison is of SHA-256 digests in constant time, so
// neither the token nor its length leaks through timing. Otherwise 401 admin_token_rejected.
func (o operatorAPI) requireOperator() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := connector.TokenFromAuthorization(c.GetHeader("Authorization"))
		if !ok || !o.isCredential(token) {
			writeError(c, &apiError{Status: http.StatusUnauthorized, Code: CodeAdminTokenRejected,
				Message: "the operator routes take the operator credential (-admin-token-file) as Authorization: Bearer <token>"})
			return
		}
		c.Next()
	}
}

// isCredential reports whether token is the operator credential. It compares SHA-256 digests in
// constant time, so neither the credential nor its length leaks through timing. False when o is
// nil (no operator credential is configured).
func (o *operatorAPI) isCredential(token string) bool {
	if o == nil {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], o.tokenSum[:]) == 1
}

// handleBackup handles GET /admin/backup: a consistent copy of the database, streamed from one
// read transaction while the connector keeps serving, with its Content-Length. Restore it by
// stopping the connector, putting the file in place of -db (with the same key) and starting it.
func (o operatorAPI) handleBackup() gin.HandlerFunc {
	return func(c *gin.Context) {
		// A big file takes longer than the server's WriteTimeout allows an answer.
		_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{})
		started := false
		name := "hipchat-connector-" + o.now().UTC().Format("20060102T150405Z") + ".db"
		n, err := o.store.BackupSized(func(size int64) {
			started = true
			c.Header("Content-Type", "application/octet-stream")
			c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
			c.Header("Content-Length", strconv.FormatInt(size, 10))
			c.Header("Cache-Control", "no-store")
			c.Status(http.StatusOK)
		}, c.Writer)
		if err != nil {
			if !started {
				writeError(c, err)
				return
			}
			// The status is out: the client sees a short body (Content-Length does not match).
			_ = c.Error(err)
			o.subs.log.Warn("backup failed while streaming", "bytes", n, "err", err)
			return
		}
		o.subs.log.Info("backup taken", "bytes", n)
	}
}

// handleListAll handles GET /admin/subscriptions[?status=…][&limit=N[&cursor=…]]: every
// subscription of every connection, by id, with status, cursor, health and endpoint, never a token
// or secret; with limit, a page of them (AdminSubscriptionList). Errors: 400 invalid_field naming
// status, limit or cursor.
func (o operatorAPI) handleListAll() gin.HandlerFunc {
	return func(c *gin.Context) {
		status := state.Status(strings.TrimSpace(c.Query("status")))
		switch status {
		case "", state.StatusActive, state.StatusPaused, state.StatusSuspended, state.StatusDisabled:
		default:
			writeError(c, invalidField("status", CodeInvalidField, "status must be one of active, paused, suspended, disabled"))
			return
		}
		page, err := parseAdminPage(c.Query("limit"), c.Query("cursor"))
		if err != nil {
			writeError(c, err)
			return
		}
		all, err := o.store.AllSubscriptions(status)
		if err != nil {
			writeError(c, err)
			return
		}
		subs, next := page.cut(all)
		list := AdminSubscriptionList{Items: make([]AdminSubscription, 0, len(subs)), NextCursor: next}
		if page.limit > 0 {
			total := len(all)
			list.Total = &total
		}
		for _, sub := range subs {
			list.Items = append(list.Items, AdminSubscription{ConnectionID: sub.ConnectionID, Subscription: o.subs.showSubscription(sub)})
		}
		c.JSON(http.StatusOK, list)
	}
}

// handlePause and handleResume handle POST /admin/subscriptions/{subscriptionId}/pause and
// /resume: PauseSubscription and ResumeSubscription for any connection's subscription. Errors: 404
// subscription_not_found, 409 subscription_inactive for a disabled one.
func (o operatorAPI) handlePause() gin.HandlerFunc {
	return o.control(o.subs.pause)
}

func (o operatorAPI) handleResume() gin.HandlerFunc {
	return o.control(o.subs.resume)
}

func (o operatorAPI) control(act func(sub state.Subscription, by, connectionID string) (state.Subscription, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := strings.TrimSpace(c.Param("subscriptionId"))
		sub, err := o.subs.store.Subscription(id)
		if errors.Is(err, state.ErrNotFound) || id == "" {
			writeError(c, subscriptionNotFound())
			return
		}
		if err != nil {
			writeError(c, err)
			return
		}
		changed, err := act(sub, "an operator", sub.ConnectionID)
		if err != nil {
			writeError(c, err)
			return
		}
		c.JSON(http.StatusOK, AdminSubscription{ConnectionID: changed.ConnectionID, Subscription: o.subs.showSubscription(changed)})
	}
}
