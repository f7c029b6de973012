package server

import (
	"net/http"

	"github.com/hipchat-connector/hipchat-connector/actions"
)

// actionTable is every action the connector serves, one row each: adding an action is a file in
// package actions and a row here. routes registers the rows behind the token. Besides the action's
// own refusals (400 missing_field, invalid_field, field_too_long naming the field) and HipChat's
// errors (toAPIError), a row answers 401 missing_token without a token and, when it reads a body,
// 413 body_too_large past the body limit, 400 invalid_json for a body that is no JSON object and
// 400 invalid_field for a member of the wrong type. A row's scope is the HipChat scope its calls
// need, named in a 403 whose HipChat message names none.
var actionTable = []actionRoute{
	{method: http.MethodGet, path: "/rooms", operationID: "ListRooms", success: http.StatusOK, notFound: subjectUnknown,
		run: runAction(actions.ListRooms, noInput)},

	{method: http.MethodGet, path: "/rooms/:roomId/members", operationID: "ListUsers", success: http.StatusOK, notFound: subjectRoom,
		run: runAction(actions.ListUsers, func(r *request) (actions.ListUsersInput, error) {
			return actions.ListUsersInput{RoomID: r.path(paramRoomID)}, nil
		})},

	{method: http.MethodPut, path: "/rooms/:roomId/members/:userId", operationID: "AddUserToRoom", success: http.StatusOK, notFound: subjectRoomOrUser,
		run: runAction(actions.AddUserToRoom, func(r *request) (actions.AddUserToRoomInput, error) {
			return actions.AddUserToRoomInput{RoomID: r.path(paramRoomID), UserID: r.path(paramUserID)}, nil
		})},

	{method: http.MethodPost, path: "/rooms/:roomId/messages", operationID: "PostMessage", success: http.StatusOK, notFound: subjectRoom,
		run: runAction(actions.PostMessage, func(r *request) (in actions.PostMessageInput, err error) {
			in.RoomID = r.path(paramRoomID)
			body, err := r.body(paramMessage, `{"message":"Hello"}`)
			if err != nil {
				return in, err
			}
			in.Message, err = body.optionalString(paramMessage)
			return in, err
		})},

	{method: http.MethodGet, path: "/users/:userId", operationID: "GetUserByID", success: http.StatusOK, notFound: subjectUser,
		run: runAction(actions.GetUserByID, func(r *request) (actions.GetUserByIDInput, error) {
			return actions.GetUserByIDInput{UserID: r.path(paramUserID)}, nil
		})},

	// The actions a flow needs (issue 24); their longer binders are in action_binders.go.
	{method: http.MethodPost, path: "/rooms/:roomId/notifications", operationID: "SendNotification", success: http.StatusOK, notFound: subjectRoom,
		scope: "send_notification", run: runAction(actions.SendNotification, bindSendNotification)},

	{method: http.MethodPost, path: "/rooms/:roomId/replies", operationID: "ReplyToMessage", success: http.StatusOK, notFound: subjectRoom,
		scope: "send_message", run: runAction(actions.ReplyToMessage, bindReplyToMessage)},

	{method: http.MethodPost, path: "/users/:userId/messages", operationID: "SendPrivateMessage", success: http.StatusOK, notFound: subjectUser,
		scope: "send_message", run: runAction(actions.SendPrivateMessage, bindSendPrivateMessage)},

	{method: http.MethodPost, path: "/rooms/:roomId/links", operationID: "ShareLinkWithRoom", success: http.StatusOK, notFound: subjectRoom,
		scope: "send_message", run: runAction(actions.ShareLinkWithRoom, bindShareLink)},

	{method: http.MethodPost, path: "/rooms/:roomId/files", operationID: "ShareFileWithRoom", success: http.StatusOK, notFound: subjectRoom,
		scope: "send_message", fileUpload: true, run: runAction(actions.ShareFileWithRoom, bindShareFile)},

	{method: http.MethodPut, path: "/rooms/:roomId/topic", operationID: "SetRoomTopic", success: http.StatusOK, notFound: subjectRoom,
		scope: "admin_room", run: runAction(actions.SetRoomTopic, bindSetRoomTopic)},

	{method: http.MethodPost, path: "/rooms", operationID: "CreateRoom", success: http.StatusCreated, notFound: subjectUnknown,
		scope: "manage_rooms", run: runAction(actions.CreateRoom, bindCreateRoom)},

	{method: http.MethodGet, path: "/rooms/:roomId", operationID: "GetRoom", success: http.StatusOK, notFound: subjectRoom,
		scope: "view_room", run: runAction(actions.GetRoom, func(r *request) (actions.GetRoomInput, error) {
			return actions.GetRoomInput{RoomID: r.path(paramRoomID)}, nil
		})},

	{method: http.MethodGet, path: "/rooms/:roomId/messages", operationID: "GetRecentMessages", success: http.StatusOK, notFound: subjectRoom,
		scope: "view_messages", run: runAction(actions.GetRecentMessages, bindGetRecentMessages)},

	{method: http.MethodDelete, path: "/rooms/:roomId/members/:userId", operationID: "RemoveUserFromRoom", success: http.StatusOK, notFound: subjectRoomOrUser,
		scope: "admin_room", run: runAction(actions.RemoveUserFromRoom, func(r *request) (actions.RemoveUserFromRoomInput, error) {
			return actions.RemoveUserFromRoomInput{RoomID: r.path(paramRoomID), UserID: r.path(paramUserID)}, nil
		})},

	{method: http.MethodPost, path: "/rooms/:roomId/invitations/:userId", operationID: "InviteUserToRoom", success: http.StatusOK, notFound: subjectRoomOrUser,
		scope: "admin_room", run: runAction(actions.InviteUserToRoom, bindInviteUser)},

	{method: http.MethodGet, path: "/users", operationID: "ListAllUsers", success: http.StatusOK, notFound: subjectUnknown,
		scope: "view_group", run: runAction(actions.ListAllUsers, noInput)},

	{method: http.MethodGet, path: "/connection", operationID: "TestConnection", success: http.StatusOK, notFound: subjectUnknown,
		run: runAction(actions.TestConnection, noInput)},
}
