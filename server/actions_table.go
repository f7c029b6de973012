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
// 400 invalid_field for a member of the wrong type.
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
}
