package machine

import (
	"errors"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// vimFault is the fault behind err, from a SOAP call or a task.
// The SOAP fault decoder yields fault values (types.InvalidLogin), tasks yield pointers; callers match both.
func vimFault(err error) any {
	if err == nil {
		return nil
	}
	if soap.IsSoapFault(err) {
		return soap.ToSoapFault(err).VimFault()
	}
	if soap.IsVimFault(err) {
		return soap.ToVimFault(err)
	}
	var te task.Error
	if errors.As(err, &te) && te.LocalizedMethodFault != nil {
		return te.LocalizedMethodFault.Fault
	}
	return nil
}

func isMethodNotFound(err error) bool {
	switch vimFault(err).(type) {
	case *types.MethodNotFound, types.MethodNotFound:
		return true
	}
	return err != nil && strings.Contains(err.Error(), "MethodNotFound")
}

// isNotFound reports a missing datastore file or managed object.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nsf object.DatastoreNoSuchFileError
	var nsd object.DatastoreNoSuchDirectoryError
	if errors.As(err, &nsf) || errors.As(err, &nsd) {
		return true
	}
	switch vimFault(err).(type) {
	case *types.FileNotFound, types.FileNotFound, *types.ManagedObjectNotFound, types.ManagedObjectNotFound,
		*types.CannotDeleteFile, types.CannotDeleteFile, *types.NotFound, types.NotFound:
		return true
	}
	return false
}

func isInvalidPowerState(err error) bool {
	switch vimFault(err).(type) {
	case *types.InvalidPowerState, types.InvalidPowerState:
		return true
	}
	return false
}
