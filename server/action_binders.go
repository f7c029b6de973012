package server

import (
	"errors"
	"net/http"

	"github.com/hipchat-connector/hipchat-connector/actions"
)

// The binders of the action table's rows that read more than a path parameter or two: each reads
// its action's input from the request (see runAction) and checks only the types of what it reads.

func bindSendNotification(r *request) (in actions.SendNotificationInput, err error) {
	in.RoomID = r.path(paramRoomID)
	body, err := r.body(paramMessage, `{"message":"build passed","color":"green"}`)
	if err != nil {
		return in, err
	}
	m := memberReader{body: body}
	in.Message, in.Color, in.MessageFormat = m.str(paramMessage), m.str(actions.FieldColor), m.str(actions.FieldMessageFormat)
	in.Notify, in.From, in.AttachTo = m.boolean(actions.FieldNotify), m.str(actions.FieldFrom), m.str(actions.FieldAttachTo)
	if m.err != nil {
		return in, m.err
	}
	var card actions.CardInput
	hasCard, err := body.optionalObject(actions.FieldCard, &card)
	if hasCard {
		in.Card = &card
	}
	return in, err
}

func bindReplyToMessage(r *request) (in actions.ReplyToMessageInput, err error) {
	in.RoomID = r.path(paramRoomID)
	body, err := r.body(paramMessage, `{"parentMessageId":"…","message":"on it"}`)
	if err != nil {
		return in, err
	}
	m := memberReader{body: body}
	in.ParentMessageID, in.Message = m.str(actions.FieldParentMessageID), m.str(paramMessage)
	return in, m.err
}

func bindSendPrivateMessage(r *request) (in actions.SendPrivateMessageInput, err error) {
	in.UserID = r.path(paramUserID)
	body, err := r.body(paramMessage, `{"message":"you are on call tonight"}`)
	if err != nil {
		return in, err
	}
	m := memberReader{body: body}
	in.Message, in.MessageFormat, in.Notify = m.str(paramMessage), m.str(actions.FieldMessageFormat), m.boolean(actions.FieldNotify)
	return in, m.err
}

func bindShareLink(r *request) (in actions.ShareLinkWithRoomInput, err error) {
	in.RoomID = r.path(paramRoomID)
	body, err := r.body(actions.FieldLink, `{"link":"https://example.com","message":"have a look"}`)
	if err != nil {
		return in, err
	}
	m := memberReader{body: body}
	in.Link, in.Message = m.str(actions.FieldLink), m.str(paramMessage)
	return in, m.err
}

// bindShareFile reads a file share. Its row's body limit is the largest file in base64 (plus the
// rest); a body past it is a file over the limit, answered as the action answers one: 400
// field_too_long naming fileContent.
func bindShareFile(r *request) (in actions.ShareFileWithRoomInput, err error) {
	in.RoomID, in.MaxBytes = r.path(paramRoomID), r.maxFileBytes
	body, err := r.body(actions.FieldFileContent, `{"fileName":"notes.txt","fileContent":"aGVsbG8="}`)
	var tooLarge *apiError
	if errors.As(err, &tooLarge) && tooLarge.Status == http.StatusRequestEntityTooLarge {
		return in, &apiError{Status: http.StatusBadRequest, Code: CodeFieldTooLong, Field: actions.FieldFileContent, Cause: err,
			Message: actions.FieldFileContent + " holds more than the largest file shared, " + actions.FileLimit(in.MaxBytes)}
	}
	if err != nil {
		return in, err
	}
	m := memberReader{body: body}
	in.FileName, in.FileContent = m.str(actions.FieldFileName), m.str(actions.FieldFileContent)
	in.ContentType, in.Message = m.str(actions.FieldContentType), m.str(paramMessage)
	return in, m.err
}

func bindSetRoomTopic(r *request) (in actions.SetRoomTopicInput, err error) {
	in.RoomID = r.path(paramRoomID)
	body, err := r.body(actions.FieldTopic, `{"topic":"release 1.2 is out"}`)
	if err != nil {
		return in, err
	}
	in.Topic, err = body.presentString(actions.FieldTopic)
	return in, err
}

func bindCreateRoom(r *request) (in actions.CreateRoomInput, err error) {
	body, err := r.body(actions.FieldName, `{"name":"Launch","privacy":"private"}`)
	if err != nil {
		return in, err
	}
	m := memberReader{body: body}
	in.Name, in.Privacy, in.Topic = m.str(actions.FieldName), m.str(actions.FieldPrivacy), m.str(actions.FieldTopic)
	in.GuestAccess, in.OwnerUserID = m.boolean(actions.FieldGuestAccess), m.str(actions.FieldOwnerUserID)
	return in, m.err
}

func bindGetRecentMessages(r *request) (in actions.GetRecentMessagesInput, err error) {
	in.RoomID, in.NotBefore = r.path(paramRoomID), r.query(actions.FieldNotBefore)
	in.MaxResults, err = r.queryInt(actions.FieldMaxResults)
	return in, err
}

func bindInviteUser(r *request) (in actions.InviteUserToRoomInput, err error) {
	in.RoomID, in.UserID = r.path(paramRoomID), r.path(paramUserID)
	body, err := r.body(actions.FieldReason, `{"reason":"the launch is here"}`)
	if err != nil {
		return in, err
	}
	in.Reason, err = body.optionalString(actions.FieldReason)
	return in, err
}
