package errdefs

import (
	"context"
	"errors"
	"net/http"
)

// The error classes. Wrap them with %w: fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound).
var (
	ErrInvalid        = errors.New("invalid argument")
	ErrUnauthorized   = errors.New("unauthorized")
	ErrForbidden      = errors.New("forbidden")
	ErrNotFound       = errors.New("not found")
	ErrConflict       = errors.New("conflict")
	ErrNotModified    = errors.New("not modified")
	ErrNotImplemented = errors.New("not implemented")
	ErrUnavailable    = errors.New("unavailable")
	ErrCanceled       = errors.New("canceled")
	ErrDeadline       = errors.New("deadline exceeded")
	ErrSystem         = errors.New("system error")
)

// class ties a sentinel to its wire name and its port-layer HTTP status.
type class struct {
	err    error
	name   string
	status int
}

// classes is ordered: the first class an error wraps wins.
var classes = []class{
	{ErrInvalid, "invalid", http.StatusBadRequest},
	{ErrUnauthorized, "unauthorized", http.StatusUnauthorized},
	{ErrForbidden, "forbidden", http.StatusForbidden},
	{ErrNotFound, "not_found", http.StatusNotFound},
	{ErrConflict, "conflict", http.StatusConflict},
	{ErrNotModified, "not_modified", http.StatusNotModified},
	{ErrNotImplemented, "not_implemented", http.StatusNotImplemented},
	{ErrUnavailable, "unavailable", http.StatusServiceUnavailable},
	{ErrCanceled, "canceled", 499},
	{ErrDeadline, "deadline", http.StatusGatewayTimeout},
	{ErrSystem, "system", http.StatusInternalServerError},
}

func lookup(err error) class {
	switch {
	case err == nil:
		return class{}
	case errors.Is(err, context.Canceled):
		return classes[8]
	case errors.Is(err, context.DeadlineExceeded):
		return classes[9]
	}
	for _, c := range classes {
		if errors.Is(err, c.err) {
			return c
		}
	}
	return classes[len(classes)-1]
}

// Class names err's class as it travels on the wire ("not_found", ...); an unclassified error is "system".
func Class(err error) string { return lookup(err).name }

// HTTPStatus is the port-layer status that carries err's class; nil is 200.
func HTTPStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	return lookup(err).status
}

// Sentinel returns the class sentinel err belongs to (ErrSystem when unclassified).
func Sentinel(err error) error { return lookup(err).err }

// Is reports whether err is of the class of sentinel; a shorthand for errors.Is.
func Is(err, sentinel error) bool { return errors.Is(err, sentinel) }

// FromClass rebuilds an error received from the wire: its text is message and it unwraps to the class named.
func FromClass(name, message string) error {
	for _, c := range classes {
		if c.name == name {
			return &wireError{msg: message, class: c.err}
		}
	}
	return &wireError{msg: message, class: ErrSystem}
}

// FromHTTPStatus rebuilds an error from a status when no class name came with it.
func FromHTTPStatus(status int, message string) error {
	for _, c := range classes {
		if c.status == status {
			return &wireError{msg: message, class: c.err}
		}
	}
	return &wireError{msg: message, class: ErrSystem}
}

// Classed wraps err in the class of sentinel while keeping err's own text.
func Classed(err, sentinel error) error {
	if err == nil {
		return nil
	}
	return &wireError{msg: err.Error(), class: sentinel, cause: err}
}

type wireError struct {
	msg   string
	class error
	cause error
}

func (e *wireError) Error() string { return e.msg }

func (e *wireError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.class, e.cause}
	}
	return []error{e.class}
}
