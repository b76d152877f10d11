package backendtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"

	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/client/kv"
	"github.com/vice-engine/vice/swagger/gen/client/misc"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// NewClient is the generated port-layer client over rt.
func NewClient(rt http.RoundTripper) *client.Portlayer {
	tr := httptransport.New("portlayer", client.DefaultBasePath, []string{"http"})
	tr.Transport = rt
	tr.Consumers["text/plain"] = runtime.TextConsumer()
	tr.Consumers["application/x-ndjson"] = runtime.ByteStreamConsumer()
	tr.Consumers["application/x-tar"] = runtime.ByteStreamConsumer()
	return client.New(tr, strfmt.Default)
}

// Run runs the conformance suite against the backend that launch starts; launch is called once, so the
// whole suite talks to one plugin process.
func Run(t *testing.T, launch func(t *testing.T) http.RoundTripper, opts ...Option) {
	o := options{busybox: DefaultBusybox}
	for _, opt := range opts {
		opt(&o)
	}
	rt := launch(t)
	pl := NewClient(rt)
	t.Run("Ping", func(t *testing.T) { testPing(t, pl) })
	t.Run("Info", func(t *testing.T) { testInfo(t, pl) })
	t.Run("KV", func(t *testing.T) { testKV(t, pl) })
	t.Run("KVErrors", func(t *testing.T) { testKVErrors(t, pl) })
	t.Run("Events", func(t *testing.T) { testEvents(t, pl) })
	t.Run("Layers", func(t *testing.T) { testLayers(t, pl) })
	t.Run("FetchLayer", func(t *testing.T) { testFetchLayer(t, pl) })
	t.Run("Volumes", func(t *testing.T) { testVolumes(t, pl) })
	t.Run("Scopes", func(t *testing.T) { testScopes(t, pl) })
	t.Run("containers", func(t *testing.T) { testContainers(t, &suite{rt: rt, pl: pl, opts: o}) })
}

// DefaultBusybox is where Debian's busybox-static installs the static busybox the containers run.
const DefaultBusybox = "/bin/busybox"

// Option changes how Run runs the suite.
type Option func(*options)

type options struct {
	busybox  string
	noGuests string
}

// WithBusybox names the static busybox binary that becomes the containers' image (default DefaultBusybox).
func WithBusybox(path string) Option { return func(o *options) { o.busybox = path } }

// WithoutGuests skips the container subtests, for the reason given: a backend that cannot boot guests
// where the test runs (no root, say) still runs the rest of the suite.
func WithoutGuests(reason string) Option { return func(o *options) { o.noGuests = reason } }

// suite is what the container subtests share: the transport (attach needs the raw RoundTripper), the
// generated client, and the busybox layer every container's disk is a child of.
type suite struct {
	rt    http.RoundTripper
	pl    *client.Portlayer
	opts  options
	layer string
	names atomic.Int64 // numbers the containers' names, so that parallel tests never collide
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), expectWait)
	t.Cleanup(cancel)
	return c
}

func testPing(t *testing.T, pl *client.Portlayer) {
	ok, err := pl.Misc.Ping(misc.NewPingParamsWithContext(ctx(t)))
	if err != nil {
		t.Fatal(err)
	}
	if ok.Payload != "OK" {
		t.Fatalf("ping answered %q", ok.Payload)
	}
}

func testInfo(t *testing.T, pl *client.Portlayer) {
	resp, err := pl.Misc.GetVCHInfo(misc.NewGetVCHInfoParamsWithContext(ctx(t)))
	if err != nil {
		t.Fatal(err)
	}
	info := resp.Payload
	if err := info.Validate(strfmt.Default); err != nil {
		t.Fatalf("info does not match the spec: %v", err)
	}
	p := info.Pool
	switch {
	case *info.Name == "" || *info.Backend == "":
		t.Errorf("name %q / backend %q empty", *info.Name, *info.Backend)
	case *p.Path == "":
		t.Error("pool path empty")
	case p.Cpus <= 0 || p.CPUCapacityMhz <= 0 || p.MemoryCapacityBytes <= 0:
		t.Errorf("pool capacity not reported: %+v", p)
	case p.CPULimitMhz != -1 && p.CPULimitMhz != p.CPUCapacityMhz:
		t.Errorf("a CPU limit of %d MHz must be the capacity, not %d", p.CPULimitMhz, p.CPUCapacityMhz)
	case p.MemoryLimitBytes != -1 && p.MemoryLimitBytes != p.MemoryCapacityBytes:
		t.Errorf("a memory limit of %d must be the capacity, not %d", p.MemoryLimitBytes, p.MemoryCapacityBytes)
	case len(info.Datastores) == 0 || len(info.Hosts) == 0:
		t.Errorf("%d datastores, %d hosts", len(info.Datastores), len(info.Hosts))
	case info.Vsphere.Version == "" || info.Vsphere.APIType == "":
		t.Errorf("vSphere facts missing: %+v", info.Vsphere)
	}
}

func key(t *testing.T, s string) string {
	return fmt.Sprintf("conformance.%d.%s", time.Now().UnixNano(), s)
}

func put(t *testing.T, pl *client.Portlayer, k, v string) *models.KeyValue {
	t.Helper()
	resp, err := pl.Kv.PutValue(kv.NewPutValueParamsWithContext(ctx(t)).WithKey(k).WithRecord(&models.KeyValue{Key: &k, Value: b64(v)}))
	if err != nil {
		t.Fatalf("put %s: %v", k, err)
	}
	return resp.Payload
}

func testKV(t *testing.T, pl *client.Portlayer) {
	prefix := key(t, "")
	a, b := prefix+"b", prefix+"a"
	first := put(t, pl, a, "one")
	second := put(t, pl, a, "two")
	if second.Revision <= first.Revision {
		t.Errorf("revision did not increase: %d then %d", first.Revision, second.Revision)
	}
	put(t, pl, b, `{"json":true}`)

	got, err := pl.Kv.GetValue(kv.NewGetValueParamsWithContext(ctx(t)).WithKey(a))
	if err != nil {
		t.Fatal(err)
	}
	if string(*got.Payload.Value) != "two" || *got.Payload.Key != a {
		t.Fatalf("get %s = %+v", a, got.Payload)
	}

	list, err := pl.Kv.ListValues(kv.NewListValuesParamsWithContext(ctx(t)).WithPrefix(&prefix))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range list.Payload {
		keys = append(keys, *r.Key)
	}
	if len(keys) != 2 || !sort.StringsAreSorted(keys) || keys[0] != b {
		t.Fatalf("list %q = %v", prefix, keys)
	}

	if _, err := pl.Kv.DeleteValue(kv.NewDeleteValueParamsWithContext(ctx(t)).WithKey(a)); err != nil {
		t.Fatal(err)
	}
	_, err = pl.Kv.GetValue(kv.NewGetValueParamsWithContext(ctx(t)).WithKey(a))
	wantClass(t, err, http.StatusNotFound, "not_found")
	if _, err := pl.Kv.DeleteValue(kv.NewDeleteValueParamsWithContext(ctx(t)).WithKey(b)); err != nil {
		t.Fatal(err)
	}
}

func testKVErrors(t *testing.T, pl *client.Portlayer) {
	_, err := pl.Kv.DeleteValue(kv.NewDeleteValueParamsWithContext(ctx(t)).WithKey(key(t, "never-written")))
	wantClass(t, err, http.StatusNotFound, "not_found")

	bad := "-starts-with-a-dash"
	_, err = pl.Kv.PutValue(kv.NewPutValueParamsWithContext(ctx(t)).WithKey(bad).WithRecord(&models.KeyValue{Key: &bad, Value: b64("x")}))
	wantClass(t, err, http.StatusBadRequest, "invalid")

	k, other := key(t, "x"), key(t, "y")
	_, err = pl.Kv.PutValue(kv.NewPutValueParamsWithContext(ctx(t)).WithKey(k).WithRecord(&models.KeyValue{Key: &other, Value: b64("x")}))
	wantClass(t, err, http.StatusBadRequest, "invalid")
}

// wantClass checks that err is the generated client's default response with the class and status.
func wantClass(t *testing.T, err error, status int, class string) {
	t.Helper()
	var c coded
	if !errors.As(err, &c) {
		t.Fatalf("want a %s error, got %v", class, err)
	}
	if c.Code() == http.StatusNotModified && status == http.StatusNotModified {
		return // HTTP gives a 304 no body: the status alone carries the class
	}
	if c.Code() != status || c.GetPayload() == nil || c.GetPayload().Class == nil || *c.GetPayload().Class != class {
		t.Fatalf("want %d %s, got %s", status, class, errText(err))
	}
	if c.GetPayload().Message == nil || strings.TrimSpace(*c.GetPayload().Message) == "" {
		t.Fatal("error without a message")
	}
}

func describe(e *models.Error) string {
	if e == nil || e.Class == nil || e.Message == nil {
		return "(no error body)"
	}
	return *e.Class + ": " + *e.Message
}

func b64(s string) *strfmt.Base64 {
	v := strfmt.Base64(s)
	return &v
}

// coded is what every generated default (error) response offers.
type coded interface {
	Code() int
	GetPayload() *models.Error
}

// statusOf is the status of a port-layer error response; 0 for any other error.
func statusOf(err error) int {
	var c coded
	if errors.As(err, &c) {
		return c.Code()
	}
	return 0
}

// errText shows a port-layer error by its status and body (the generated errors print pointers).
func errText(err error) string {
	var c coded
	if errors.As(err, &c) {
		return fmt.Sprintf("%d %s", c.Code(), describe(c.GetPayload()))
	}
	return fmt.Sprint(err)
}
