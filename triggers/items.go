package triggers

import "github.com/hipchat-connector/hipchat-connector/connector"

// HistoryItem is one item of the seed's HistoryResponse: a message as a flow sees it. The seed's
// fields (date, file.name, file.url, from.id, from.mention_name, from.name, id, message) are always
// there; the rest is added.
type HistoryItem struct {
	ID                string                       `json:"id"`
	Date              string                       `json:"date"`
	Type              string                       `json:"type"`
	Message           string                       `json:"message"`
	MessageFormat     string                       `json:"message_format,omitempty"`
	Color             string                       `json:"color,omitempty"`
	From              Author                       `json:"from"`
	File              *ItemFile                    `json:"file,omitempty"`
	AuthenticatedFile *connector.AuthenticatedFile `json:"authenticated_file,omitempty"`
	Mentions          []connector.UserStub         `json:"mentions"`
	// RoomID and RoomName are HipChat's id and name of the room (ResolvedRoom), whether the trigger
	// was given the room by id or by name.
	RoomID   int    `json:"room_id"`
	RoomName string `json:"room_name"`
}

// Author is who posted: a user (id, mention name, name) or, for a notification, HipChat's plain
// "from" label as Name with id 0 and no mention name.
type Author struct {
	ID          int    `json:"id"`
	MentionName string `json:"mention_name"`
	Name        string `json:"name"`
}

// ItemFile is an uploaded file. A file in a secure-storage group has no URL (see authenticated_file).
type ItemFile struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Size     int64  `json:"size"`
	ThumbURL string `json:"thumb_url,omitempty"`
}

// HistoryResponse is the seed's body of OnNewMessage and OnNewFile.
type HistoryResponse struct {
	Items []HistoryItem `json:"items"`
}

// RoomItem is one item of the seed's RoomList.
type RoomItem struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	Privacy    string `json:"privacy"`
	IsArchived bool   `json:"is_archived"`
}

// RoomList is the seed's body of OnNewRoom.
type RoomList struct {
	Items []RoomItem `json:"items"`
}

// NewHistoryItem turns a HipChat history message of room into the item a flow receives.
func NewHistoryItem(room ResolvedRoom, m connector.Message) HistoryItem {
	item := HistoryItem{
		ID: m.ID, Date: m.Date, Type: m.Type, MessageFormat: m.MessageFormat,
		Mentions: m.Mentions, RoomID: room.ID, RoomName: room.Name, AuthenticatedFile: m.AuthenticatedFile,
	}
	if item.Mentions == nil {
		item.Mentions = []connector.UserStub{}
	}
	if m.Message != nil {
		item.Message = *m.Message
	}
	if m.Color != nil {
		item.Color = *m.Color
	}
	if u := m.From.User; u != nil {
		item.From = Author{ID: u.ID, MentionName: u.MentionName, Name: u.Name}
	} else {
		item.From = Author{Name: m.From.Label}
	}
	switch {
	case m.File != nil:
		item.File = &ItemFile{Name: m.File.Name, URL: m.File.URL, Size: m.File.Size, ThumbURL: m.File.ThumbURL}
	case m.AuthenticatedFile != nil:
		item.File = &ItemFile{Name: m.AuthenticatedFile.Name, Size: m.AuthenticatedFile.Size}
	}
	return item
}

// NewRoomItem turns a HipChat room into the item a flow receives.
func NewRoomItem(r connector.Room) RoomItem {
	return RoomItem{ID: r.ID, Name: r.Name, Privacy: r.Privacy, IsArchived: r.IsArchived}
}
