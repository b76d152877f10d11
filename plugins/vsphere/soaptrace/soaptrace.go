package soaptrace

import (
	"context"
	"log/slog"
	"os"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/vmware/govmomi/vim25/soap"
)

// Wrap returns rt logging each call to log (at debug level) as "vsphere call" with the method, the managed
// object it was made on and how long it took. When log does not log debug records, rt is returned as it is.
func Wrap(rt soap.RoundTripper, log *slog.Logger) soap.RoundTripper {
	if log == nil || !log.Enabled(context.Background(), slog.LevelDebug) {
		return rt
	}
	return &tracer{next: rt, log: log, callers: os.Getenv(CallersEnv) != ""}
}

// CallersEnv, set to anything, adds to each line the functions of this module that led to the call
// ("callers", innermost first): which backend operation a call belongs to, for counting round trips.
const CallersEnv = "VICE_SOAPTRACE_CALLERS"

type tracer struct {
	next    soap.RoundTripper
	log     *slog.Logger
	callers bool
}

func (t *tracer) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	start := time.Now()
	err := t.next.RoundTrip(ctx, req, res)
	attrs := []any{"method", Method(req), "ms", float64(time.Since(start).Microseconds()) / 1000}
	if this := object(req); this != "" {
		attrs = append(attrs, "this", this)
	}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	if t.callers {
		attrs = append(attrs, "callers", callers())
	}
	t.log.Debug("vsphere call", attrs...)
	return err
}

// Method is the vSphere method a request body calls: *methods.RetrievePropertiesExBody is
// "RetrievePropertiesEx".
func Method(req any) string {
	t := reflect.TypeOf(req)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "?"
	}
	return strings.TrimSuffix(t.Name(), "Body")
}

// object is the managed object a request is made on (its This), as "Type:value", or "".
func object(req any) string {
	v := reflect.ValueOf(req)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	r := v.FieldByName("Req")
	for r.IsValid() && r.Kind() == reflect.Pointer && !r.IsNil() {
		r = r.Elem()
	}
	if !r.IsValid() || r.Kind() != reflect.Struct {
		return ""
	}
	this := r.FieldByName("This")
	if !this.IsValid() {
		return ""
	}
	typ, val := this.FieldByName("Type"), this.FieldByName("Value")
	if !typ.IsValid() || !val.IsValid() {
		return ""
	}
	return typ.String() + ":" + val.String()
}

// callers lists the functions of this module on the stack above the round tripper, innermost first.
func callers() string {
	var pcs [32]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	var names []string
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, module) {
			names = append(names, f.Function[strings.LastIndex(f.Function, "/")+1:])
		}
		if !more {
			return strings.Join(names, "<")
		}
	}
}

const module = "github.com/vice-engine/vice/"
