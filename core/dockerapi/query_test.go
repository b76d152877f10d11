package dockerapi

import "testing"

func TestBoolValue(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "0": false, "no": false, "false": false, "none": false, "False": false, "FALSE": false,
		"No": false, "NONE": false, " false ": false,
		"1": true, "true": true, "True": true, "yes": true, "on": true, "2": true, "anything": true,
	} {
		if got := boolValue(v); got != want {
			t.Errorf("boolValue(%q) = %v, want %v", v, got, want)
		}
	}
}
