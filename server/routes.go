package server

import (
	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/server/console"
)

// routes lists every route of the connector. Besides the four service routes, the console page (no
// token: the page asks for one and calls the routes below), the doorbell of push and the operator routes under /admin/ (only when an operator credential is configured; else they
// answer 404 as any unknown path), each route is one operation of the connector definition
// (swagger.Operations) and goes behind requireConnection; a test checks that the two sets agree.
// Every GET route answers HEAD as well (headAsGet).
func (s *Server) routes(engine *gin.Engine) {
	r := headAsGet{engine}
	r.GET("/healthz", handleHealthz())
	r.GET("/readyz", handleReadyz(s.ready))
	r.GET("/metrics", gin.WrapH(s.metrics.handler()))
	r.GET("/swagger.json", gin.WrapH(&s.definition))
	page := consolePage()
	r.GET(console.Path, page)
	r.GET(console.Path+"/*asset", page)
	// HipChat's room webhooks (push doorbells): not an operation, no token (the path's secret is).
	r.POST(doorbellRoute, handleDoorbell(s.doorbell))

	if s.operator != nil {
		admin := r.Group("/admin", s.operator.requireOperator())
		admin.GET("/backup", s.operator.handleBackup())
		admin.GET("/subscriptions", s.operator.handleListAll())
		admin.POST("/subscriptions/:subscriptionId/pause", s.operator.handlePause())
		admin.POST("/subscriptions/:subscriptionId/resume", s.operator.handleResume())
	}

	op := r.Group("/", requireConnection(s.opts.HipChatURL, s.operator))

	// Actions, one row each of the action table.
	for _, row := range actionTable {
		op.Handle(row.method, row.path, row.handler(s.client, s.actions))
	}

	// Polling triggers (the Logic Apps polling protocol).
	op.GET("/triggers/rooms/:roomId/messages", handleMessagePoll(s.polling, onNewMessage, s.PublicURL, s.metrics.filteredOut))
	op.GET("/triggers/rooms/:roomId/mentions", handleMessagePoll(s.polling, onMention, s.PublicURL, s.metrics.filteredOut))
	op.GET("/triggers/rooms/:roomId/keywords", handleMessagePoll(s.polling, onKeyword, s.PublicURL, s.metrics.filteredOut))
	op.GET("/triggers/rooms/:roomId/files", handleMessagePoll(s.polling, onNewFile, s.PublicURL, s.metrics.filteredOut))
	op.GET("/triggers/rooms", handleRoomPoll(s.polling, s.PublicURL))

	// Callback subscriptions (webhook triggers) and their management.
	op.POST("/subscriptions/rooms/:roomId/messages", handleSubscribe(s.subs, onNewMessage))
	op.POST("/subscriptions/rooms/:roomId/mentions", handleSubscribe(s.subs, onMention))
	op.POST("/subscriptions/rooms/:roomId/keywords", handleSubscribe(s.subs, onKeyword))
	op.POST("/subscriptions/rooms/:roomId/files", handleSubscribe(s.subs, onNewFile))
	op.POST("/subscriptions/rooms", handleSubscribe(s.subs, onNewRoom))
	op.GET("/subscriptions", handleListSubscriptions(s.subs))
	op.GET("/subscriptions/:subscriptionId", handleGetSubscription(s.subs))
	op.DELETE("/subscriptions/:subscriptionId", handleDeleteSubscription(s.subs))
	op.GET("/subscriptions/:subscriptionId/deliveries", handleListDeliveries(s.subs))
	op.POST("/subscriptions/:subscriptionId/deliveries/:deliveryId/resend", handleResendDelivery(s.subs))
	op.POST("/subscriptions/:subscriptionId/test", handleSendTestEvent(s.subs))
	op.POST("/subscriptions/:subscriptionId/pause", handlePauseSubscription(s.subs))
	op.POST("/subscriptions/:subscriptionId/resume", handleResumeSubscription(s.subs))
	op.POST("/subscriptions/:subscriptionId/recover", handleRecoverDeliveries(s.subs))
	op.POST("/subscriptions/:subscriptionId/rotate-secret", handleRotateSecret(s.subs))
}
