package portlayer

import (
	"encoding/json"
	"reflect"
	"testing"
)

// splitArray finds the elements json.Unmarshal finds, whatever their strings hold, and refuses what is not
// one array.
func TestSplitArray(t *testing.T) {
	for _, in := range []string{`[]`, ` [ ] `, `null`, `[{"a":1}]`, `[ {"a":"x,}]\\\"{"} , {"b":[1,{"c":"]"}]}, 3, "s,\"]" ]`} {
		got, err := splitArray([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		var want []json.RawMessage
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		gotRaw := make([]string, len(got))
		for i, g := range got {
			gotRaw[i] = string(g)
		}
		wantRaw := make([]string, len(want))
		for i, w := range want {
			wantRaw[i] = string(w)
		}
		if !reflect.DeepEqual(gotRaw, wantRaw) {
			t.Errorf("%s: %q, want %q", in, gotRaw, wantRaw)
		}
	}
	for _, bad := range []string{``, `{}`, `[{"a":1}`, `[{"a":"1}]`, `[}{]`, `[[]`} {
		if got, err := splitArray([]byte(bad)); err == nil {
			t.Errorf("%s: %q, want an error", bad, got)
		}
	}
}
