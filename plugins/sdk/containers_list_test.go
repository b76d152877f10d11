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
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Errorf("%v: %s", err, got)
			return
		}
		_ = json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("encoded\n%s\nwant\n%s", got, want)
		}
	}
	var s listedSpecs
	first, err := s.encode(infos)
	if err != nil {
		t.Fatal(err)
	}
	same(first, infos)
	if len(s.m) != 2 {
		t.Errorf("%d specs kept, want 2", len(s.m))
	}
	again, err := s.encode(infos)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(first) {
		t.Errorf("the same listing encoded as\n%s\nthen\n%s", first, again)
	}
	infos[1] = &models.ContainerInfo{ID: str("b"), Name: str("beta2"), Spec: spec("beta2")}
	changed, err := s.encode(infos)
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
			got, err := s.encode(l[i%len(l):])
			if err != nil {
				t.Error(err)
				return
			}
			same(got, l[i%len(l):])
		})
	}
	wg.Wait()
}
