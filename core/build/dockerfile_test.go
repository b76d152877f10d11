package build

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func TestParse(t *testing.T) {
	df, err := Parse(strings.NewReader("# syntax=docker/dockerfile:1\n# escape=`\n\n# a comment\nfrom busybox AS build\n" +
		"RUN echo a `\n  # a comment inside\n    b `\n\n  c\nCOPY --from=build --chown=1:2 /x /y\n\tENV A=1\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := []Instruction{}
	for _, in := range df.Instructions {
		got = append(got, in)
	}
	want := []Instruction{
		{Keyword: "FROM", Args: "busybox AS build", Original: "from busybox AS build", Line: 5},
		{Keyword: "RUN", Args: "echo a     b   c", Original: "RUN echo a     b   c", Line: 6},
		{Keyword: "COPY", Args: "--from=build --chown=1:2 /x /y", Original: "COPY --from=build --chown=1:2 /x /y", Line: 11},
		{Keyword: "ENV", Args: "A=1", Original: "ENV A=1", Line: 12},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	if df.Escape != '`' || len(df.Warnings) != 1 {
		t.Errorf("escape %q, warnings %q", df.Escape, df.Warnings)
	}
	flags, rest, err := df.Instructions[2].flags("from", "chown")
	if err != nil || rest != "/x /y" || flags["from"] != "build" || flags["chown"] != "1:2" {
		t.Errorf("flags: %v %q %v", flags, rest, err)
	}
	if _, _, err := df.Instructions[2].flags("from"); err == nil || !strings.Contains(err.Error(), "Unknown flag: chown") {
		t.Errorf("an unknown flag: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	for src, msg := range map[string]string{
		"":                           "cannot be empty",
		"# only a comment\n":         "cannot be empty",
		"FROM x\nFETCH y\n":          "dockerfile parse error on line 2: unknown instruction: FETCH",
		"# escape=x\nFROM busybox\n": "invalid escape token",
	} {
		_, err := Parse(strings.NewReader(src))
		if !errdefs.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want invalid with %q", src, err, msg)
		}
	}
}

func TestExecForm(t *testing.T) {
	if got, ok := execForm(`["cat", "/a b"]`); !ok || !reflect.DeepEqual(got, []string{"cat", "/a b"}) {
		t.Errorf("exec form: %q %v", got, ok)
	}
	if _, ok := execForm(`[not json`); ok {
		t.Error("a shell form starting with [ read as exec form")
	}
}

func TestDockerignore(t *testing.T) {
	list, err := parseDockerignore(strings.NewReader("# comment\n*.md\n!README.md\nsecret*\nbuild/\n**/*.tmp\n/docs/**/draft\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"a.md": true, "README.md": false, "sub/a.md": false, "secret.txt": true, "secrets/x": true,
		"build": true, "build/out/bin": true, "builder": false, "x.tmp": true, "a/b/c.tmp": true,
		"docs/draft": true, "docs/a/b/draft/x": true, "docs/final": false, "Dockerfile": false,
	} {
		if got := list.excluded(name); got != want {
			t.Errorf("excluded(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCleanPath(t *testing.T) {
	for _, c := range [][3]string{
		{"", "x", "/x"}, {"/app", ".", "/app/"}, {"/app", "./", "/app/"}, {"/app", "sub/", "/app/sub/"},
		{"/app", "/abs", "/abs"}, {"/", "/", "/"}, {"/app", "../etc/x", "/etc/x"},
	} {
		if got := cleanPath(c[0], c[1]); got != c[2] {
			t.Errorf("cleanPath(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestCacheKeyIgnoresContainerNames(t *testing.T) {
	a := cacheKey(mustConfig(`{"Image":"sha256:1","Hostname":"h","Cmd":["/bin/sh","-c","x"],"Env":[],"Labels":{}}`))
	b := cacheKey(mustConfig(`{"Cmd":["/bin/sh","-c","x"]}`))
	c := cacheKey(mustConfig(`{"Cmd":["/bin/sh","-c","y"]}`))
	if !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
		t.Errorf("cache keys: %v %v %v", a, b, c)
	}
}

func TestParseChown(t *testing.T) {
	passwd := []byte("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n")
	group := []byte("root:x:0:\nstaff:x:50:\n")
	for spec, want := range map[string]owner{
		"1:2": {true, 1, 2}, "app": {true, 1000, 1000}, "app:staff": {true, 1000, 50}, "0": {true, 0, 0},
	} {
		if got, err := parseChown(spec, passwd, group); err != nil || got != want {
			t.Errorf("parseChown(%q) = %v, %v", spec, got, err)
		}
	}
	if _, err := parseChown("nobody", passwd, group); err == nil || !strings.Contains(err.Error(), "can't find uid for user nobody") {
		t.Errorf("an unknown user: %v", err)
	}
}

func mustConfig(s string) *container.Config {
	var c container.Config
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		panic(err)
	}
	return &c
}
