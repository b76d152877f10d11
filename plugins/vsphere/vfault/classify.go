package vfault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Classify wraps err, returned by a vSphere call made to do what, into its errdefs class. A nil err stays nil.
func Classify(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, errdefs.Classed(err, Class(err)))
}

// Class finds the class of err, one of errdefs' sentinels: a context error keeps its own class, an error
// already classified keeps that class, then the first vSphere fault in err's tree that has a class decides,
// then the finder's and the datastore client's errors, then transport failures are unavailable, and the rest
// is a system error. A nil err has no class (nil).
func Class(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return errdefs.ErrCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return errdefs.ErrDeadline
	}
	for _, known := range []error{errdefs.ErrNotFound, errdefs.ErrConflict, errdefs.ErrInvalid,
		errdefs.ErrUnavailable, errdefs.ErrUnauthorized, errdefs.ErrForbidden, errdefs.ErrNotImplemented} {
		if errors.Is(err, known) {
			return known // already classified below us
		}
	}
	var class error
	fault.In(err, func(f types.BaseMethodFault, _ string, _ []types.LocalizableMessage) bool {
		class = methodFaultClass(f)
		return class != nil
	})
	if class != nil {
		return class
	}
	var notFound *find.NotFoundError
	if errors.As(err, &notFound) {
		return errdefs.ErrNotFound
	}
	var multiple *find.MultipleFoundError
	if errors.As(err, &multiple) {
		return errdefs.ErrInvalid
	}
	var noFile object.DatastoreNoSuchFileError
	var noDir object.DatastoreNoSuchDirectoryError
	if errors.As(err, &noFile) || errors.As(err, &noDir) {
		return errdefs.ErrNotFound // the datastore's HTTP /folder answered 404
	}
	if transportFailure(err) {
		return errdefs.ErrUnavailable
	}
	return errdefs.ErrSystem
}

// methodFaultClass maps one vSphere fault to a class, or nil when the fault says nothing about the class
// (its cause may).
func methodFaultClass(f types.BaseMethodFault) error {
	switch f.(type) {
	case *types.NotAuthenticated, types.BaseHostCommunication, *types.RequestCanceled, *types.HostConnectFault,
		*types.NoHost:
		// NotAuthenticated (a NoPermission, hence first) means our own session expired: the caller is not at
		// fault, and the session is logged in again, so it is a transient unavailability.
		return errdefs.ErrUnavailable
	case *types.ManagedObjectNotFound, *types.FileNotFound, *types.NotFound, types.BaseInvalidDatastore,
		*types.InvalidDatastorePath:
		return errdefs.ErrNotFound
	case *types.DuplicateName, *types.AlreadyExists, *types.FileAlreadyExists, types.BaseInvalidState,
		types.BaseResourceInUse, *types.ConcurrentAccess, types.BaseTaskInProgress, *types.InvalidPowerState:
		return errdefs.ErrConflict
	case *types.MethodNotFound:
		// An InvalidRequest, but the request is not at fault: this server does not have the method (a
		// standalone host or the simulator lacking a vCenter call).
		return errdefs.ErrNotImplemented
	case types.BaseInvalidLogin:
		return errdefs.ErrUnauthorized
	case types.BaseNoPermission, types.BaseSecurityError:
		return errdefs.ErrForbidden
	case types.BaseInvalidArgument, *types.InvalidProperty, *types.InvalidName, *types.InvalidType, types.BaseInvalidRequest:
		return errdefs.ErrInvalid
	case types.BaseNotSupported, *types.NotImplemented:
		return errdefs.ErrNotImplemented
	}
	return nil
}

// transportFailure reports whether err is the network or the server failing rather than the request.
func transportFailure(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var urlErr *url.Error
	return errors.As(err, &urlErr) && urlErr.Timeout()
}

// HTTPStatus classifies a failed datastore HTTP transfer (the /folder endpoint answers with plain HTTP
// statuses, not faults).
func HTTPStatus(status int) error {
	switch {
	case status == http.StatusNotFound:
		return errdefs.ErrNotFound
	case status == http.StatusUnauthorized:
		return errdefs.ErrUnavailable // our session lapsed; Ping logs in again
	case status == http.StatusForbidden:
		return errdefs.ErrForbidden
	case status == http.StatusConflict:
		return errdefs.ErrConflict
	case status >= 500:
		return errdefs.ErrUnavailable
	}
	return errdefs.ErrSystem
}
