package hipchatsim

import "github.com/hipchat-connector/hipchat-connector/hipchatsim/sandbox"

// routes lists every endpoint: the HipChat v2 API of the seed's tables (emoticons, sessions, rooms,
// room messages, room webhooks, users) plus what the connector uses (history/latest, notification,
// share/file, participant, oauth/token, capabilities), the add-on UI updates, the /_sim/ side
// channel, and the sandbox page at exactly "/" with its assets under /sandbox/ (no token: the page
// asks for one).
func (s *Server) routes() {
	any := func(scopes ...string) []string { return scopes }
	none := []string(nil)
	for _, rt := range []route{
		// OAuth, sessions, capabilities
		{pattern: "POST /v2/oauth/token", scopes: none, handle: s.handleToken},
		{pattern: "GET /v2/oauth/token/{token}", scopes: any(scopeAdminGroup, scopeAdminRoom, scopeManageRooms, scopeSendMessage, scopeSendNotification, scopeViewGroup, scopeViewMessages, scopeViewRoom), handle: handleGetSession},
		{pattern: "DELETE /v2/oauth/token/{token}", scopes: any(scopeAdminGroup, scopeAdminRoom, scopeManageRooms, scopeSendMessage, scopeSendNotification, scopeViewGroup, scopeViewMessages, scopeViewRoom), handle: handleDeleteSession},
		{pattern: "GET /v2/capabilities", scopes: none, handle: handleCapabilities},

		// Emoticons
		{pattern: "GET /v2/emoticon", scopes: any(scopeViewGroup), handle: handleListEmoticons},
		{pattern: "GET /v2/emoticon/{emoticon}", scopes: any(scopeViewGroup), handle: handleGetEmoticon},

		// Rooms
		{pattern: "GET /v2/room", scopes: any(scopeViewGroup, scopeViewRoom), handle: handleListRooms},
		{pattern: "POST /v2/room", scopes: any(scopeManageRooms), handle: handleCreateRoom},
		{pattern: "GET /v2/room/{room}", scopes: any(scopeViewGroup, scopeViewRoom), handle: handleGetRoom},
		{pattern: "PUT /v2/room/{room}", scopes: any(scopeAdminRoom, scopeManageRooms), handle: handleUpdateRoom},
		{pattern: "DELETE /v2/room/{room}", scopes: any(scopeManageRooms), handle: handleDeleteRoom},
		{pattern: "GET /v2/room/{room}/statistics", scopes: any(scopeViewGroup, scopeViewRoom), handle: handleStatistics},
		{pattern: "PUT /v2/room/{room}/topic", scopes: any(scopeAdminRoom), handle: handleTopic},
		{pattern: "GET /v2/room/{room}/member", scopes: any(scopeViewRoom), handle: handleListMembers},
		{pattern: "PUT /v2/room/{room}/member/{user}", scopes: any(scopeAdminRoom), handle: handleAddMember},
		{pattern: "DELETE /v2/room/{room}/member/{user}", scopes: any(scopeAdminRoom), handle: handleRemoveMember},
		{pattern: "GET /v2/room/{room}/participant", scopes: any(scopeViewRoom), handle: handleListParticipants},
		{pattern: "POST /v2/room/{room}/invite/{user}", scopes: any(scopeAdminRoom), usersOnly: true, handle: handleInvite},

		// Room messages
		{pattern: "POST /v2/room/{room}/message", scopes: any(scopeSendMessage), usersOnly: true, handle: handlePostMessage},
		{pattern: "POST /v2/room/{room}/notification", scopes: any(scopeSendNotification), handle: handleNotification},
		{pattern: "POST /v2/room/{room}/reply", scopes: any(scopeSendMessage), usersOnly: true, handle: handleReply},
		{pattern: "POST /v2/room/{room}/share/link", scopes: any(scopeSendMessage), usersOnly: true, handle: handleRoomShareLink},
		{pattern: "POST /v2/room/{room}/share/file", scopes: any(scopeSendMessage), usersOnly: true, handle: handleRoomShareFile},
		{pattern: "GET /v2/room/{room}/history", scopes: any(scopeViewMessages), handle: handleRoomHistory},
		{pattern: "GET /v2/room/{room}/history/latest", scopes: any(scopeViewMessages), handle: handleRoomLatest},
		{pattern: "GET /v2/room/{room}/history/{mid}", scopes: any(scopeViewMessages), handle: handleRoomMessage},

		// Room webhooks
		{pattern: "GET /v2/room/{room}/webhook", scopes: any(scopeAdminRoom), handle: handleListWebhooks},
		{pattern: "POST /v2/room/{room}/webhook", scopes: any(scopeAdminRoom), handle: handleCreateWebhook},
		{pattern: "GET /v2/room/{room}/webhook/{id}", scopes: any(scopeAdminRoom), handle: handleGetWebhook},
		{pattern: "DELETE /v2/room/{room}/webhook/{id}", scopes: any(scopeAdminRoom), handle: handleDeleteWebhook},

		// Users
		{pattern: "GET /v2/user", scopes: any(scopeViewGroup), handle: handleListUsers},
		{pattern: "POST /v2/user", scopes: any(scopeAdminGroup), handle: handleCreateUser},
		{pattern: "GET /v2/user/{user}", scopes: any(scopeViewGroup), handle: handleGetUser},
		{pattern: "PUT /v2/user/{user}", scopes: any(scopeAdminGroup), handle: handleUpdateUser},
		{pattern: "DELETE /v2/user/{user}", scopes: any(scopeAdminGroup), handle: handleDeleteUser},
		{pattern: "GET /v2/user/{user}/photo/{size}", scopes: any(scopeViewGroup), handle: handleGetPhoto},
		{pattern: "PUT /v2/user/{user}/photo", scopes: any(scopeAdminGroup), handle: handleUpdatePhoto},
		{pattern: "DELETE /v2/user/{user}/photo", scopes: any(scopeAdminGroup), handle: handleDeletePhoto},
		{pattern: "POST /v2/user/{user}/message", scopes: any(scopeSendMessage), usersOnly: true, handle: handleUserMessage},
		{pattern: "POST /v2/user/{user}/share/link", scopes: any(scopeSendMessage), usersOnly: true, handle: handleUserShareLink},
		{pattern: "POST /v2/user/{user}/share/file", scopes: any(scopeSendMessage), usersOnly: true, handle: handleUserShareFile},
		{pattern: "GET /v2/user/{user}/history/latest", scopes: any(scopeViewMessages), usersOnly: true, handle: handleChatLatest},
		{pattern: "GET /v2/user/{user}/history/{mid}", scopes: any(scopeViewMessages), usersOnly: true, handle: handleChatMessage},

		// Add-on UI (glances): add-on tokens, any scope
		{pattern: "POST /v2/addon/ui", scopes: scopeNames, addonsOnly: true, handle: handleAddonUI(glanceGroup)},
		{pattern: "POST /v2/addon/ui/room/{room}", scopes: scopeNames, addonsOnly: true, handle: handleAddonUI(glanceRoom)},
		{pattern: "POST /v2/addon/ui/user/{user}", scopes: scopeNames, addonsOnly: true, handle: handleAddonUI(glanceUser)},
		{pattern: "POST /v2/addon/ui/room/{room}/user/{user}", scopes: scopeNames, addonsOnly: true, handle: handleAddonUI(glanceUserInRoom)},

		// Side channel (not HipChat; no token, no faults)
		{pattern: "GET /_sim/calls", handle: s.handleCalls},
		{pattern: "POST /_sim/faults", handle: s.handlePostFault},
		{pattern: "DELETE /_sim/faults", handle: s.handleDeleteFaults},
		{pattern: "GET /_sim/webhooks", handle: s.handleWebhookCalls},
		{pattern: "DELETE /_sim/room/{room}/history/{mid}", handle: s.handleDeleteMessage},
		{pattern: "GET /_sim/room/{room}/glances", handle: s.handleRoomGlances},
	} {
		s.handle(rt)
	}
	s.mux.HandleFunc("GET /_sim/files/{id}/{name}", s.handleFile)
	page := sandbox.Handler()
	s.mux.Handle("GET /{$}", page)
	s.mux.Handle("GET "+sandbox.AssetPrefix, page)
}
