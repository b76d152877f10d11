package vch

import (
	"context"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/types"
)

// retrieve reads properties of several objects in one round trip.
func retrieve(ctx context.Context, s *Session, refs []types.ManagedObjectReference, props []string, dst any) error {
	return property.DefaultCollector(s.Client).Retrieve(ctx, refs, props, dst)
}
