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

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		path string
		args []string
		want string
	}{
		{"echo", []string{"hi"}, "echo hi"},
		{"sleep", nil, "sleep"},
		{"sh", []string{"-c", "echo out; echo err >&2"}, "sh -c 'echo out; echo err >&2'"},
		{"printf", []string{"%s\n", "a b", "c"}, "printf %s\n 'a b' c"},
	} {
		if got := commandLine(tc.path, tc.args); got != tc.want {
			t.Errorf("commandLine(%q, %q) = %q, want %q", tc.path, tc.args, got, tc.want)
		}
	}
}
