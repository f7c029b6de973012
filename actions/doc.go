// Package actions owns what each action of the connector does, one file per action or family: its
// typed input and the validation that names the field at fault, the HipChat calls it makes through
// HipChat (which *connector.Client satisfies), and its typed output, whose JSON is the one the
// connector definition describes. It knows nothing of HTTP: package server reads each action's
// input from a request and writes its output, all from one table.
//
// Every action has the same shape, func(ctx, hipchat, conn, input) (output, error), and returns
// one of two errors: an *InvalidInput, before any HipChat call, for input it refuses; or the error
// of a HipChat call (a *connector.Error), unchanged.
package actions
