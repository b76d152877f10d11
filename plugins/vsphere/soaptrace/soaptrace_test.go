package soaptrace

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type answer struct{ calls int }

func (a *answer) RoundTrip(context.Context, soap.HasFault, soap.HasFault) error {
	a.calls++
	return nil
}

func TestWrapLogsMethodAndObject(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	next := &answer{}
	rt := Wrap(next, log)
	req := &methods.PowerOnVM_TaskBody{Req: &types.PowerOnVM_Task{
		This: types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-42"}}}
	if err := rt.RoundTrip(context.Background(), req, &methods.PowerOnVM_TaskBody{}); err != nil {
		t.Fatal(err)
	}
	if next.calls != 1 {
		t.Fatalf("the call reached the next round tripper %d times, want 1", next.calls)
	}
	line := buf.String()
	for _, want := range []string{"vsphere call", "method=PowerOnVM_Task", "this=VirtualMachine:vm-42", "ms="} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
}

func TestWrapWithoutDebugIsTheSameRoundTripper(t *testing.T) {
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	next := &answer{}
	if rt := Wrap(next, log); rt != soap.RoundTripper(next) {
		t.Fatalf("Wrap without debug level returned %T, want the round tripper itself", rt)
	}
}

func TestWrapNamesCallersWhenAsked(t *testing.T) {
	t.Setenv(CallersEnv, "1")
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rt := Wrap(&answer{}, log)
	if err := rt.RoundTrip(context.Background(), &methods.RetrievePropertiesExBody{}, &methods.RetrievePropertiesExBody{}); err != nil {
		t.Fatal(err)
	}
	if line := buf.String(); !strings.Contains(line, "callers=soaptrace.TestWrapNamesCallersWhenAsked") {
		t.Fatalf("log line %q does not name the calling test first", line)
	}
}
