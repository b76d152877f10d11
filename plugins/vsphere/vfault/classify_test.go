package vfault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func soapFault(f types.BaseMethodFault) error {
	return soap.WrapSoapFault(&soap.Fault{Code: "ServerFaultCode", String: "boom", Detail: struct {
		Fault types.AnyType `xml:",any,typeattr"`
	}{Fault: f}})
}

func taskFault(f types.BaseMethodFault) error {
	return task.Error{LocalizedMethodFault: &types.LocalizedMethodFault{Fault: f, LocalizedMessage: "boom"}}
}

func TestClassify(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "https://vc/sdk",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("connect: %w", syscall.ECONNREFUSED)}}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"ManagedObjectNotFound", soapFault(&types.ManagedObjectNotFound{}), errdefs.ErrNotFound},
		{"FileNotFound in a task", taskFault(&types.FileNotFound{}), errdefs.ErrNotFound},
		{"InvalidDatastore", taskFault(&types.InvalidDatastore{}), errdefs.ErrNotFound},
		{"DuplicateName", soapFault(&types.DuplicateName{}), errdefs.ErrConflict},
		{"FileAlreadyExists", taskFault(&types.FileAlreadyExists{}), errdefs.ErrConflict},
		{"InvalidPowerState", taskFault(&types.InvalidPowerState{}), errdefs.ErrConflict},
		{"InvalidLogin", soapFault(&types.InvalidLogin{}), errdefs.ErrUnauthorized},
		{"InvalidLogin from a task", taskFault(&types.InvalidLogin{}), errdefs.ErrUnauthorized},
		{"NoPermission", soapFault(&types.NoPermission{}), errdefs.ErrForbidden},
		{"InvalidArgument", soapFault(&types.InvalidArgument{}), errdefs.ErrInvalid},
		{"InvalidProperty (an InvalidArgument)", soapFault(&types.InvalidProperty{}), errdefs.ErrInvalid},
		{"NotSupported", soapFault(&types.NotSupported{}), errdefs.ErrNotImplemented},
		{"MethodNotFound (an InvalidRequest)", soapFault(&types.MethodNotFound{}), errdefs.ErrNotImplemented},
		{"InvalidRequest", soapFault(&types.InvalidRequest{}), errdefs.ErrInvalid},
		{"NotAuthenticated", soapFault(&types.NotAuthenticated{}), errdefs.ErrUnavailable},
		{"vim fault", soap.WrapVimFault(&types.NotFound{}), errdefs.ErrNotFound},
		{"cause decides", taskFault(&types.SystemError{RuntimeFault: types.RuntimeFault{MethodFault: types.MethodFault{
			FaultCause: &types.LocalizedMethodFault{Fault: &types.FileNotFound{}}}}}), errdefs.ErrNotFound},
		{"connection refused", refused, errdefs.ErrUnavailable},
		{"finder not found", &find.NotFoundError{}, errdefs.ErrNotFound},
		{"finder multiple", &find.MultipleFoundError{}, errdefs.ErrInvalid},
		{"datastore file", fmt.Errorf("stat: %w", object.DatastoreNoSuchFileError{}), errdefs.ErrNotFound},
		{"datastore folder", object.DatastoreNoSuchDirectoryError{}, errdefs.ErrNotFound},
		{"CannotDeleteFile is a failure", taskFault(&types.CannotDeleteFile{}), errdefs.ErrSystem},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), errdefs.ErrCanceled},
		{"already classified", fmt.Errorf("x: %w", errdefs.ErrConflict), errdefs.ErrConflict},
		{"unknown", errors.New("boom"), errdefs.ErrSystem},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Classify(tt.err, "doing it")
			if !errors.Is(err, tt.want) {
				t.Fatalf("Classify(%v) = %v, class %s, want %s", tt.err, err, errdefs.Class(err), errdefs.Class(tt.want))
			}
			if errdefs.Class(err) != errdefs.Class(tt.want) {
				t.Fatalf("class %s, want %s", errdefs.Class(err), errdefs.Class(tt.want))
			}
		})
	}
	if Classify(nil, "x") != nil || Class(nil) != nil {
		t.Fatal("nil has a class")
	}
}

func TestHTTPStatus(t *testing.T) {
	for status, want := range map[int]error{
		404: errdefs.ErrNotFound, 401: errdefs.ErrUnavailable, 403: errdefs.ErrForbidden, 409: errdefs.ErrConflict,
		500: errdefs.ErrUnavailable, 503: errdefs.ErrUnavailable, 400: errdefs.ErrSystem,
	} {
		if got := HTTPStatus(status); got != want {
			t.Errorf("HTTPStatus(%d) = %v, want %v", status, got, want)
		}
	}
}
