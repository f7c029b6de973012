package server

import (
	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/actions"
	"github.com/hipchat-connector/hipchat-connector/state"
	"github.com/hipchat-connector/hipchat-connector/subscriptions"
	"github.com/hipchat-connector/hipchat-connector/triggers"
)

// routes lists every route of the connector. Besides the four service routes, each route is one
// operation of the connector definition (swagger.Operations) and goes behind requireConnection; a test
// checks that the two sets agree.
func (s *Server) routes(r *gin.Engine) {
	r.GET("/healthz", handleHealthz())
	r.GET("/readyz", handleReadyz(s.ready))
	r.GET("/metrics", gin.WrapH(s.metrics.handler()))
	r.GET("/swagger.json", gin.WrapH(&s.definition))

	op := r.Group("/", requireConnection(s.opts.HipChatURL))

	// Actions.
	op.GET("/rooms", actions.ListRooms(s.client))
	op.GET("/rooms/:roomId/members", actions.ListUsers(s.client))
	op.PUT("/rooms/:roomId/members/:userId", actions.AddUserToRoom(s.client))
	op.POST("/rooms/:roomId/messages", actions.PostMessage(s.client))
	op.GET("/users/:userId", actions.GetUserByID(s.client))

	// Polling triggers (the Logic Apps polling protocol).
	op.GET("/triggers/rooms/:roomId/messages", triggers.HandleMessagePoll(s.polling, triggers.KindMessage, s.PublicURL))
	op.GET("/triggers/rooms/:roomId/files", triggers.HandleMessagePoll(s.polling, triggers.KindFile, s.PublicURL))
	op.GET("/triggers/rooms", triggers.HandleRoomPoll(s.polling, s.PublicURL))

	// Callback subscriptions (webhook triggers) and their management.
	op.POST("/subscriptions/rooms/:roomId/messages", subscriptions.Subscribe(s.subs, state.KindMessage))
	op.POST("/subscriptions/rooms/:roomId/files", subscriptions.Subscribe(s.subs, state.KindFile))
	op.POST("/subscriptions/rooms", subscriptions.Subscribe(s.subs, state.KindRoom))
	op.GET("/subscriptions", subscriptions.List(s.subs))
	op.GET("/subscriptions/:subscriptionId", subscriptions.Get(s.subs))
	op.DELETE("/subscriptions/:subscriptionId", subscriptions.Delete(s.subs))
	op.GET("/subscriptions/:subscriptionId/deliveries", subscriptions.ListDeliveries(s.subs))
	op.POST("/subscriptions/:subscriptionId/deliveries/:deliveryId/resend", subscriptions.Resend(s.subs))
	op.POST("/subscriptions/:subscriptionId/test", subscriptions.SendTest(s.subs))
}
