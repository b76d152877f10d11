package containers

import (
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestHostConfigViewLogDriver(t *testing.T) {
	h := &container.HostConfig{}
	v := hostConfigView(h)
	if v.LogConfig.Type != "json-file" || v.LogConfig.Config == nil {
		t.Errorf("default log config = %+v, want json-file with an empty config", v.LogConfig)
	}
	if h.LogConfig.Type != "" {
		t.Errorf("the record's host config was changed: %+v", h.LogConfig)
	}
	named := hostConfigView(&container.HostConfig{LogConfig: container.LogConfig{Type: "none"}})
	if named.LogConfig.Type != "none" {
		t.Errorf("a named driver became %q", named.LogConfig.Type)
	}
}
