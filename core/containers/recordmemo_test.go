package containers

import (
	"reflect"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// A listing's records decode as decode does, and records whose JSON changed decode anew.
func TestRecordMemo(t *testing.T) {
	info := func(cfg, host string) *models.ContainerInfo {
		id, name := "0123", "n"
		return &models.ContainerInfo{ID: &id, Name: &name, Spec: &models.ContainerSpec{
			Annotations: map[string]string{annConfig: cfg, annHostConfig: host, annImage: "busybox"}}}
	}
	var m recordMemo
	a := info(`{"Labels":{"k":"v"},"Tty":true}`, `{"NetworkMode":"bridge"}`)
	first, again := m.decodeShared(a), m.decodeShared(info(`{"Labels":{"k":"v"},"Tty":true}`, `{"NetworkMode":"bridge"}`))
	plain := decode(a)
	if !reflect.DeepEqual(first.Config, plain.Config) || !reflect.DeepEqual(first.HostConfig, plain.HostConfig) ||
		first.Image != "busybox" || first.Name != "n" {
		t.Fatalf("shared decoding %+v %+v, want %+v %+v", first.Config, first.HostConfig, plain.Config, plain.HostConfig)
	}
	if again.Config != first.Config || again.HostConfig != first.HostConfig {
		t.Errorf("the same records were decoded again")
	}
	changed := m.decodeShared(info(`{"Labels":{"k":"w"}}`, `{"NetworkMode":"host"}`))
	if changed.Config.Labels["k"] != "w" || changed.Config.Tty || changed.HostConfig.NetworkMode != "host" {
		t.Errorf("changed records decoded as %+v %+v", changed.Config, changed.HostConfig)
	}
	if none := m.decodeShared(info("", "")); none.Config == nil || none.HostConfig == nil || len(none.Config.Labels) != 0 {
		t.Errorf("a container without records: %+v %+v", none.Config, none.HostConfig)
	}
}
