package tether

import (
	"reflect"
	"strings"
	"testing"
)

func TestResolveUser(t *testing.T) {
	const passwd = "root:x:0:0:root:/root:/bin/sh\n# comment\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nbroken:line\n"
	const group = "root:x:0:\nstaff:x:50:nobody,other\nnogroup:x:65534:\n"
	cases := []struct {
		spec    string
		want    execUser
		wantErr string
	}{
		{"", execUser{UID: 0, GID: 0, Groups: []uint32{0}, Home: "/root"}, ""},
		{"root", execUser{UID: 0, GID: 0, Groups: []uint32{0}, Home: "/root"}, ""},
		{"nobody", execUser{UID: 65534, GID: 65534, Groups: []uint32{65534, 50}, Home: "/nonexistent"}, ""},
		{"65534", execUser{UID: 65534, GID: 65534, Groups: []uint32{65534, 50}, Home: "/nonexistent"}, ""},
		{"1234", execUser{UID: 1234, GID: 0, Groups: []uint32{0}, Home: "/"}, ""},
		{"1234:50", execUser{UID: 1234, GID: 50, Groups: []uint32{50}, Home: "/"}, ""},
		{"nobody:root", execUser{UID: 65534, GID: 0, Groups: []uint32{0, 50}, Home: "/nonexistent"}, ""},
		{"nobody2", execUser{}, "unable to find user nobody2: no matching entries in passwd file"},
		{"root:wheel", execUser{}, "unable to find group wheel: no matching entries in group file"},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := resolveUser(tc.spec, strings.NewReader(passwd), strings.NewReader(group))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}
