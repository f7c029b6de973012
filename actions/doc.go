// Package actions owns the connector's actions, the operations a workflow calls to do something in
// HipChat: ListUsers, GetUserByID, PostMessage, AddUserToRoom and the internal ListRooms that feeds the
// designer's room picker. Each handler validates its input, makes its HipChat calls through
// *connector.Client for the request's connection (the client's limiter keeps the connection within
// its budget) and answers with the seed's shapes, or with an error of the httpapi vocabulary.
package actions
