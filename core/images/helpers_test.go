package images_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/internal/plugintest"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// reg is the fixtures registry every test pulls from.
var reg *fixtures.Registry

func TestMain(m *testing.M) {
	var err error
	if reg, err = fixtures.StartRegistry("127.0.0.1:0"); err != nil {
		panic(err)
	}
	if err := reg.Seed(context.Background(), false); err != nil {
		panic(err)
	}
	code := plugintest.Main(m)
	reg.Close()
	os.Exit(code)
}

type event struct{ action, id, name string }

type env struct {
	plugin  *plugintest.Plugin
	tracked *plugintest.Tracked // counts the layers this image store writes
	backend *portlayer.Client   // the port layer, to look at what the store left there
	svc     *images.Service
	events  chan event
}

// newEnv is an image store over the real vcsim plugin, emptied when the test ends.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOver(t, plugintest.Shared(t))
}

// newEnvOver is a new image store (a new endpoint) over plugin p.
func newEnvOver(t *testing.T, p *plugintest.Plugin) *env {
	t.Helper()
	rc, err := imagec.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{plugin: p, tracked: p.Track(), backend: p.Client(), events: make(chan event, 100)}
	e.svc = images.New(portlayer.New(plugintest.Name, e.tracked), rc,
		images.WithLogger(slog.New(slog.DiscardHandler)), images.WithTempDir(t.TempDir()),
		images.WithEvents(func(action, id string, attrs map[string]string) {
			select {
			case e.events <- event{action, id, attrs["name"]}:
			default:
			}
		}))
	return e
}

// pull pulls image (a fixture name like "busybox:latest") and returns the messages.
func (e *env) pull(t *testing.T, image string) []images.Message {
	t.Helper()
	msgs, err := e.tryPull(t.Context(), reg.Ref(image), "")
	if err != nil {
		t.Fatalf("pull %s: %v", image, err)
	}
	return msgs
}

func (e *env) tryPull(ctx context.Context, ref, platform string) ([]images.Message, error) {
	p, err := e.svc.PreparePull(ctx, images.PullOptions{Image: ref, Platform: platform})
	if err != nil {
		return nil, err
	}
	var msgs []images.Message
	err = p.Run(ctx, func(m images.Message) { msgs = append(msgs, m) })
	return msgs, err
}

func statuses(msgs []images.Message) []string {
	var out []string
	for _, m := range msgs {
		if m.ID != "" {
			out = append(out, m.ID+" "+m.Status)
		} else {
			out = append(out, m.Status)
		}
	}
	return out
}

func imagecDefault() v1.Platform { return imagec.DefaultPlatform }
