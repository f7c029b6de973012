package server

import (
	"github.com/gin-gonic/gin"

	"github.com/hipchat-connector/hipchat-connector/actions"
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
}
