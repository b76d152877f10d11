package sdk

import (
	"encoding/json"
	"reflect"
	"sync"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// A listing encoded with the specs of earlier listings says what the generated encoding says, and a spec
// that changed (a new value) is encoded anew.
func TestListedSpecsEncodeAsGenerated(t *testing.T) {
	str := func(s string) *string { return &s }
	spec := func(name string) *models.ContainerSpec {
		return &models.ContainerSpec{Name: str(name), Annotations: map[string]string{
			"docker.config": `{"Cmd":["sh","-c","echo \"<a&b>\""],"Labels":{"x":"\\u00e9"}}`}}
	}
	infos := []*models.ContainerInfo{
		{ID: str("a"), Name: str("alpha"), Spec: spec("alpha"), State: &models.ContainerState{Running: true}},
		{ID: str("b"), Name: str("beta"), Spec: spec("beta")},
		{ID: str("c"), Name: str("gamma")}, // no spec
	}
	same := func(got []byte, infos []*models.ContainerInfo) {
		t.Helper()
		want, err := json.Marshal(infos)
		if err != nil {
			t.Error(err)
			return
		}
		var g, w []map[string]any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Errorf("%v: %s", err, got)
			return
		}
		_ = json.Unmarshal(want, &w)
		for i, m := range g {
			if v, _ := m["specVersion"].(string); len(v) != 32 && i < len(infos) && infos[i].Spec != nil {
				t.Errorf("description %d has specVersion %q", i, v)
			}
			delete(m, "specVersion")
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("encoded\n%s\nwant\n%s", got, want)
		}
	}
	var s listedSpecs
	first, err := s.encode(infos, nil)
	if err != nil {
		t.Fatal(err)
	}
	same(first, infos)
	if len(s.m) != 2 {
		t.Errorf("%d specs kept, want 2", len(s.m))
	}
	again, err := s.encode(infos, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(first) {
		t.Errorf("the same listing encoded as\n%s\nthen\n%s", first, again)
	}
	// A caller that has alpha's spec gets alpha without it, and the others whole.
	var listed []map[string]any
	_ = json.Unmarshal(first, &listed)
	alphaVersion := listed[0]["specVersion"].(string)
	if listed[1]["specVersion"] == alphaVersion {
		t.Fatalf("two specs have version %s", alphaVersion)
	}
	partial, err := s.encode(infos, []string{alphaVersion, "0123456789abcdef0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	var p []map[string]any
	if err := json.Unmarshal(partial, &p); err != nil {
		t.Fatal(err)
	}
	if p[0]["spec"] != nil || p[0]["specVersion"] != alphaVersion || p[1]["spec"] == nil {
		t.Errorf("with alpha's spec known, listed\n%s", partial)
	}
	infos[1] = &models.ContainerInfo{ID: str("b"), Name: str("beta2"), Spec: spec("beta2")}
	changed, err := s.encode(infos, nil)
	if err != nil {
		t.Fatal(err)
	}
	same(changed, infos)

	// Listings at once share the kept encodings without racing (go test -race).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l := append([]*models.ContainerInfo(nil), infos...)
			l = append(l, &models.ContainerInfo{ID: str("d"), Name: str("d"), Spec: spec("d")})
			got, err := s.encode(l[i%len(l):], nil)
			if err != nil {
				t.Error(err)
				return
			}
			same(got, l[i%len(l):])
		})
	}
	wg.Wait()
}
