// Package hipchatsim is an in-memory HipChat REST API v2: the upstream of every test and of the demo,
// and a sandbox for flow designers now that HipChat itself is gone. It answers like the real API as
// HipChat's published API reference and the clients written against it record it: the same paths,
// status codes, JSON shapes, error texts, token types and scopes, rate-limit and flood-control
// headers.
//
//	srv, err := hipchatsim.New(hipchatsim.DefaultOptions())
//	ts := httptest.NewServer(srv) // then talk HTTP only; srv.AdminToken() has every scope
//
// State lives in memory and is safe for concurrent use. The clock is Options.Now, so tests move time
// (rate-limit windows, message dates, add-on token expiry) without sleeping.
//
// # Endpoints
//
// Everything in the seed's Emoticons, Sessions, Rooms, Room Messages, Room Webhooks and Users tables,
// plus what the connector uses: GET/POST /v2/room, GET/PUT/DELETE /v2/room/{room},
// …/statistics, PUT …/topic, GET …/member, PUT/DELETE …/member/{user}, GET …/participant,
// POST …/invite/{user}, POST …/message, …/notification, …/reply, …/share/link, …/share/file,
// GET …/history, …/history/latest, …/history/{message_id}, GET/POST …/webhook,
// GET/DELETE …/webhook/{id}; GET/POST /v2/user, GET/PUT/DELETE /v2/user/{user},
// GET …/photo/{small|big}, PUT/DELETE …/photo, POST …/message, …/share/link, …/share/file,
// GET …/history/latest, …/history/{message_id}; GET /v2/emoticon, /v2/emoticon/{id_or_shortcut};
// POST /v2/oauth/token, GET/DELETE /v2/oauth/token/{token}; GET /v2/capabilities; POST
// /v2/addon/ui, …/ui/room/{room}, …/ui/user/{user}, …/ui/room/{room}/user/{user}.
//
// expand (spec §1.7) works on every GET: comma-separated dotted paths such as items, participants,
// owner, statistics, items.owner, items.from, items.mentions, message.from, items.creator or
// items.room replace each user, room, statistics, webhook or emoticon stub they reach with its full
// object (expand.go).
//
// GET / (exactly) is the sandbox page of package sandbox, with its assets under /sandbox/: a browser
// client of the endpoints here for flow designers, who sign in by pasting a token. It needs no token
// to load and is no part of HipChat's API.
//
// A {room} is a numeric id or the percent-encoded room name ("+" is not a space); a {user} is a
// numeric id, an email or an @mention name. Room and user ids are integers that increase from 1 in
// creation order (user 1 is the group admin) and are never reused. Message ids are random UUIDs;
// message dates have microseconds and an offset ("2018-01-10T09:35:50.702319+00:00"), and messages
// that share a date keep the order they were sent in.
//
// # Tokens
//
//   - The admin token (Options.AdminToken, or random): a personal token of user 1, the group admin
//     ("Group Admin", admin@example.com, @admin), with every scope.
//   - POST /v2/user with a password, then POST /v2/oauth/token grant_type=password (username = the
//     email or @mention, password, optional space-separated scope): a user token.
//   - grant_type=personal: with the same credentials, or with a group admin's Bearer token and
//     user_id, a personal access token.
//   - grant_type=client_credentials with HTTP Basic client id and secret: an add-on (group client)
//     token, valid for 8 hours. HipChat made one OAuth client per add-on installation; here add-on
//     clients come from the fixtures' "addons".
//   - Room notification tokens (send_notification, one room) come from the fixtures too.
//
// Tokens go in "Authorization: Bearer …" or ?auth_token=. No token is 401 "Authenticated requests
// only. See http://www.hipchat.com/docs/apiv2/auth for more information.", an unknown, revoked or
// expired one 401 "Invalid OAuth session", a missing scope 403 "This action requires one of the
// following scopes: [u'view_group', u'view_room']". auth_test=true answers 202 after the token and
// scope checks, for any method, and changes nothing.
//
// Room administration takes the scopes HipChat's API reference gave each method (as the Go and C#
// clients copied it) and, where its scopes page says more, that too: PUT /v2/room/{room} admin_room
// or manage_rooms (the reference says admin_room, the scopes page puts updating rooms under
// manage_rooms, and clients were written against both); DELETE /v2/room/{room} manage_rooms;
// PUT …/topic, PUT and DELETE …/member/{user}, and every …/webhook route admin_room; POST
// …/invite/{user} admin_room and users only ("Accessible by users"), so an add-on gets 403 "This
// method is only accessible by users".
//
// # Limits
//
// Each token has a fixed 5-minute window, which starts at its first call after the previous window
// ended: UserRateLimit calls for user and personal tokens, AddonRateLimit for add-on and room tokens.
// Every request with a known token counts, whatever its answer, and every such answer carries
// X-Ratelimit-Limit, X-Ratelimit-Remaining and X-Ratelimit-Reset. The reset is the next window start
// in Unix seconds written as the captured real header was, "1412564640.0"; clients that read a float
// or an integer prefix both manage. Over the limit: 429
// {"error":{"code":429,"message":"Rate Limit exceeded","type":"Too Many Requests"}}. A limit of 0 is
// off and sends no headers.
//
// Message-sending calls (room message, notification, reply, share/link, share/file, and their
// private-chat kin) also pass flood control: FloodLimit messages per minute per room (or chat) and
// sender, in the same kind of window, with X-FloodControl-Limit/Remaining/Reset; over it they get the
// same 429 body, and the refused message is not stored and does not count.
//
// # Side channel (emulator extensions, not HipChat; no token)
//
//   - GET /_sim/calls → {"tokens":[{"token_sha256","total","max_in_any_60s","max_in_any_300s"}]}:
//     every request made with a known token, and the most made in any 60 s and 300 s window
//     (half-open windows on the injected clock), in order of the tokens' first use.
//   - POST /_sim/faults {"token_sha256"?, "status"?: 401|429|500|503, "rate"?: 0–1, "delay_ms"?: 0–60000}
//     → 204: /v2/ requests (of that token, or all) wait delay_ms, then with probability rate get
//     status in HipChat's error shape. An injected 429 says when to come back as HipChat's does
//     (X-Ratelimit-Remaining: 0 and X-Ratelimit-Reset with the rate limit on, Retry-After: 1 with it
//     off); an injected 401 is "Invalid OAuth session", a token HipChat stopped accepting that works
//     again once the fault is removed (a revoked token never does). status is optional when delay_ms is given (a pure delay, which
//     applies to every request even with rate 0); rate defaults to 1 with a status. A new fault
//     replaces the one for the same token; a token's own fault wins over the all-tokens one.
//     Invalid input is a 400 naming the field. DELETE /_sim/faults → 204 removes them all.
//   - DELETE /_sim/room/{room}/history/{message_id} → 204: marks the message deleted, as a HipChat
//     client could. History then returns it with "message": null (include_deleted defaults to true),
//     or leaves it out with include_deleted=false.
//   - POST /_sim/faults also takes "webhook_drop_rate" (0–1: that share of room webhook calls is
//     silently not made) and "webhook_delay_ms" (0–60000: each call waits that long first), alone or
//     beside the rest; DELETE /_sim/faults ends them too.
//   - GET /_sim/webhooks → {"calls":[{"seq","at","event","url","webhook_id","room_id","status",
//     "latency_ms","dropped","error"}],"remembered":512}: the last 512 room webhook calls, oldest
//     first; status 0 means no answer (error says why), dropped a call not made. ?status=404,5xx,0
//     keeps the calls with those statuses (exact, by class, 0 for no answer), ?webhook_id=N one
//     webhook's and ?room_id=N one room's; ?limit=N answers the newest N of them (oldest first all
//     the same) and "more" (whether older ones remain), &before=SEQ the newest N older than that
//     call; a bad value is a 400 naming the parameter.
//   - GET /_sim/room/{room}/glances → {"glances":[{"key","scope","addon":{"client_id","name"},"user",
//     "content","updated"}]}: the latest add-on UI update of every glance that applies to the room
//     (pushed to the group, the room, or a user in the room), newest first; the sandbox page shows
//     them.
//   - GET /_sim/files/{id}/{name}: the bytes of a shared file, a user photo or an emoticon; the url of
//     a file message points here.
//
// # Emoticons
//
// GET /v2/emoticon lists HipChat's standard global emoticons in shortcut order
// (emoticon_catalog.json). Their ids are HipChat's own wherever a public record keeps them, each
// line's "recorded" naming the record:
//
//   - "hipchat4j": a GET /v2/emoticon answer of October 2014, both pages, kept as test fixtures by
//     ninjabear/hipchat4j — the ids of 136 of them (android 118, yey 43, success 8528, …);
//   - HipChat renumbered its global emoticons when it re-uploaded them in late October 2014 (their
//     image names gained a timestamp), and later ids survive for three: troll 105148
//     (dogonthehorizon/chiphat's test fixture), zoidberg 118608 (Atlassian's emoji component
//     stories) and allthethings 105216 (given by issue 27; the October 2014 answer had it as 260,
//     which is not an alias). A later id wins where one is recorded: HipChat answered it from then
//     until it closed.
//
// The other 26 (bicepleft, bicepright, borat, celeryman, chef, cookie, corpsethumb, drool,
// evilburns, excellent, feelsbadman, feelsgoodman, finn, fireworks, firstworldproblems, giggity,
// goldstar, haha, ilovecake, jake, paddlin, pizza, popcorn, standup, thumbsdown, thumbsup) are in no
// surviving answer: their ids are assigned, from 200001 in shortcut order, a range no recorded id
// reaches. Sizes are recorded for allthethings (36×30) and troll (25×25); the rest are 30×30 but
// for a few wide ones, and a few carry a sound (audio_path): emulator choices. HipChat's global
// emoticons named a creator (HipChat's staff); here creator is null.
//
// # Notifications and cards
//
// POST …/notification (and a room_message receiver's reply) is validated as HipChat validated it,
// with its validator's 400s (validation.go, notification.go, card.go): message 1–10000 characters,
// message_format html or text, color yellow, green, red, purple, gray or random, notify a boolean,
// from 0–64 and attach_to 0–36 characters, and card null or a card. Recorded texts are used as
// captured: "Required field 'message' is missing" (validation optional) and "Value u'true' for
// field 'notify' is not of type 'boolean'" (validation type, expected_type). Not recorded, in the
// same validator's words ([INFERRED]): "Value u'pink' for field 'color' is not in the enumeration:
// ['yellow', …]" (enum) and "Length of value u'…' for field 'from' must be less than or equal to
// 64" (maxLength; minLength "greater than or equal to"). "" for message_format or color means the
// default, as clients send it for "not given".
//
// A card is checked against HipChat's own card schema, captured in a 2017 answer: style and title
// and id required, the allowed styles, formats, lozenges and lengths, thumbnail.url,
// activity.html and every attribute's value.label required, thumbnail sizes numbers, no unknown keys
// in activity, description objects and attributes. Any fault is HipChat's single type error for the
// whole card, as its validator reported it: field "card", validation "type", the card as value, the
// schema as expected_type, and "Value {…} for field 'card' is not of type [{'type': 'null'}, {…}]"
// with the card printed as Python printed it. The schema it prints lacks HipChat's description texts
// and orders keys its own way. On top of the schema, a link card needs a description and an image
// card a url, as Atlassian's web client needed them to show the card ([INFERRED] that the server
// refused them): 400 "Required field 'description' is missing", field "card.description". A valid
// card is stored as the JSON string sent.
//
// # Add-on UI (glances)
//
// POST /v2/addon/ui (the group), …/ui/room/{room}, …/ui/user/{user} and
// …/ui/room/{room}/user/{user} take {"glance": [{"key", "content"}]} from an add-on token and answer
// 204, as the Go and Haskell clients expect. Other tokens get 403 "This method is only accessible
// by add-ons" ([INFERRED], like the users-only text); no scope is recorded, so any scope will do.
// HipChat wanted the glance declared in the add-on's descriptor; the emulator has no descriptors
// and takes any key. Validation, in HipChat's validator texts with the field's path
// ("glance[0].content.label.type"), follows what clients record: glance a non-empty list; key 1–40
// characters (hipchat-hs, from HipChat's reference); content with label {"type": html or text
// ([INFERRED] text beside html), "value"}, an optional status {"type": "lozenge", "value": {"type":
// default, success, error, current, new, complete or moved, "label"}} or {"type": "icon", "value":
// {"url", "url@2x"}} (hipchat-go refuses either without both of its fields), and an optional
// metadata object; other keys are kept. One bad glance refuses the whole body. Each glance's latest
// content is kept per add-on, key and target, and GET /_sim/room/{room}/glances shows what applies
// to a room.
//
// # Room webhooks
//
// A webhook registered with POST /v2/room/{room}/webhook (admin_room) is called when its event
// happens in its room: room_message (POST …/message, …/reply, …/share/link; pattern filters the
// text), room_notification (…/notification), room_file_upload (…/share/file), room_topic_change
// (PUT …/topic, or a new topic in PUT /v2/room/{room}), room_enter (POST …/invite/{user}, or a
// user's first post in the room), room_exit (DELETE …/member/{user} of a participant),
// room_archived and room_unarchived (PUT /v2/room/{room} is_archived), room_deleted (DELETE
// /v2/room/{room}). The POST is HipChat's: {"event","item":{"message"|"sender"|"topic","room"},
// "oauth_client_id","webhook_id"} (webhookevents.go lists what each event carries). With
// "authentication": "jwt", which needs an add-on token, the call carries an HS256 JWT signed with
// the add-on's client secret (iss the client id, sub the acting user's id, iat/exp on the injected
// clock, context.room_id) both as "Authorization: JWT …" and as ?signed_request=. A room_message
// receiver that answers 2xx with a JSON send-notification body has it posted to the room.
//
// Calls are best effort, as HipChat's were: one attempt with a 5 s timeout from at most 8
// concurrent workers and a queue of 1024, never holding up the request that caused the event, and
// no redirects followed. HipChat documented nothing about failing receivers — no retries, no
// disabling, no removal — so the emulator does none: a webhook whose receiver is gone (404, 5xx,
// nothing listening) stays registered and is called for every event until someone deletes it;
// GET /_sim/webhooks?status=4xx,5xx,0 shows those calls. An outbound guard refuses link-local (169.254.0.0/16, fe80::/10),
// multicast and unspecified addresses, at registration for literal addresses (400, field url) and
// at dial time for names; loopback and private addresses are allowed, the emulator being a local
// sandbox. Server.Close abandons the calls in flight.
//
// # Fixtures
//
// Options.Fixtures (LoadFixtures reads the -fixtures file of "hipchat-connector sim") seeds users,
// add-on clients and rooms. Users get ids from 2 in list order, rooms from 1; users are referred to by
// email or @mention; dates are RFC 3339; unknown keys are an error. The tests' fixtures
// (testdata/hipchatsim/fixtures.json at the repository's root) are a complete example:
//
//	{
//	  "users": [{"name": "Ann Lee", "email": "ann@example.com", "mention_name": "ann",
//	             "password": "ann-password", "tokens": [{"token": "ann-personal-token"}]},
//	            {"name": "Bob Ray", "email": "bob@example.com",
//	             "tokens": [{"token": "bob-read-only-token", "scopes": ["view_group", "view_messages"]}]}],
//	  "addons": [{"client_id": "ci-addon", "client_secret": "ci-secret", "name": "CI Bot",
//	              "scopes": ["send_notification", "view_room"]}],
//	  "rooms": [{"name": "General", "owner": "@ann", "topic": "Everything", "created": "2018-01-01T08:00:00Z",
//	             "participants": ["@BobRay"],
//	             "notification_tokens": [{"token": "general-notify-token", "label": "Jenkins"}],
//	             "messages": [
//	               {"id": "1e9e3b67-f09a-4c6f-919c-90a91ebc9448", "date": "2018-01-10T09:35:50.702319Z",
//	                "from": "@ann", "message": "Good morning"},
//	               {"date": "2018-01-10T09:40:00Z", "label": "GitHub", "message": "PR merged", "color": "green"},
//	               {"from": "bob@example.com", "file": {"name": "notes.txt", "content": "hello"}},
//	               {"from": "@ann", "message": "oops", "deleted": true}]},
//	            {"name": "Ops", "privacy": "private", "owner": "@ann", "members": ["bob@example.com"]},
//	            {"name": "Old", "is_archived": true}]
//	}
//
// A message with "from" is a user message, one with "label" a notification. Tokens without scopes
// have every scope (room tokens: send_notification). Messages without a date get the start time.
//
// # Decisions where the record is silent ([GAP]) or thin ([INFERRED])
//
//   - history/latest with a not-before id this room does not have: ignored; the newest max-results
//     come back, the id is absent, and a careful client treats that as a gap.
//   - /history date and end-date are both inclusive. A bare date means the end of that day as date
//     and its start as end-date; a timestamp without offset is read in timezone. links.next (and
//     links.prev) appear on date queries when more messages remain, keeping the caller's parameters.
//     date=recent or no date is the newest 75 and ignores start-index and max-results.
//   - max-results outside 0–1000, a negative start-index, a bad boolean, date or timezone: 400 in the
//     validation shape naming the parameter.
//   - POST …/message takes 1–1000 characters and answers {"id","timestamp"} with the timestamp in the
//     history date format. Add-on and room tokens get 403 "This method is only accessible by users".
//   - Member calls on a public room: DELETE has HipChat's captured "Can only remove participants to
//     private rooms"; GET "Can only list members of private rooms" and PUT "Can only add members to
//     private rooms" are modelled on it. PUT of an existing member updates its roles (204); DELETE of a
//     non-member is 204.
//   - Unknown user: 404 "User <ref> not found", like the later "Room <ref> not found" for rooms.
//     Room names are matched without regard to case, and are unique that way.
//   - Users who are not group admins do not see private rooms they are not members of: they are left
//     out of lists and are 404 when named. Room tokens see only their room.
//   - Participants (no XMPP presence here) are the room's creator, invited users and anyone who posted
//     there; all count as online.
//   - A notification without from shows the add-on's name, the room token's label or the user's name;
//     add-on notifications carry notification_sender. A card is stored as a JSON string.
//   - Archived rooms refuse messages with 400 "This room has been archived".
//   - PUT /v2/room/{room} and PUT /v2/user/{user} take partial bodies, so {"is_archived": true}
//     archives a room. Topics also appear in history as type "topic" items.
//   - Deleted users stay readable by id with is_deleted true; their tokens stop working.
//   - POST /v2/oauth/token answers {"access_token","expires_in","group_id","group_name","scope",
//     "token_type":"bearer"}; user and personal tokens do not expire.
//   - Invalid JSON is 400 "The request body cannot be parsed as valid JSON"; a JSON endpoint given
//     another Content-Type is 400 "Invalid content type"; unknown JSON fields are ignored.
//   - share/file accepts multipart/related (or form-data) with CRLF or LF line ends, a missing closing
//     boundary, and base64 parts; the file's thumb_url is set for images only. A file over 50 MiB
//     (HipChat's web client's limit; the API documents none) is 413 "File too large".
//   - Room webhooks are called (see below); room_created is not modelled.
package hipchatsim
