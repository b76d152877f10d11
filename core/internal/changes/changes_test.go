package changes

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func TestApply(t *testing.T) {
	for _, c := range []struct {
		name    string
		start   container.Config
		changes []string
		want    container.Config
	}{
		{"cmd exec and shell", container.Config{}, []string{`CMD ["cat","/greeting"]`},
			container.Config{Cmd: []string{"cat", "/greeting"}}},
		{"cmd shell", container.Config{}, []string{`cmd echo hi`},
			container.Config{Cmd: []string{"/bin/sh", "-c", "echo hi"}}},
		{"entrypoint drops the cmd", container.Config{Cmd: []string{"sh"}}, []string{`ENTRYPOINT ["top"]`},
			container.Config{Entrypoint: []string{"top"}}},
		{"entrypoint keeps its own cmd", container.Config{Cmd: []string{"sh"}}, []string{`CMD ["-b"]`, `ENTRYPOINT ["top"]`},
			container.Config{Entrypoint: []string{"top"}, Cmd: []string{"-b"}}},
		{"env forms and expansion", container.Config{Env: []string{"PATH=/bin", "K=old"}},
			[]string{`ENV K=v`, `ENV PATH=$PATH:/opt/bin A="a b" B='$K'`, `ENV LEGACY hello world`, `ENV C=${K}x D=${NOPE:-dflt}`},
			container.Config{Env: []string{"PATH=/bin:/opt/bin", "K=v", "A=a b", "B=$K", "LEGACY=hello world", "C=vx", "D=dflt"}}},
		{"labels", container.Config{Labels: map[string]string{"a": "1"}}, []string{`LABEL b=2 "c d"="e f"`, `LABEL old style`},
			container.Config{Labels: map[string]string{"a": "1", "b": "2", "c d": "e f", "old": "style"}}},
		{"expose", container.Config{}, []string{`EXPOSE 80 53/udp 8000-8001`},
			container.Config{ExposedPorts: network.PortSet{port("80/tcp"): {}, port("53/udp"): {}, port("8000/tcp"): {}, port("8001/tcp"): {}}}},
		{"user workdir stopsignal", container.Config{WorkingDir: "/app"}, []string{`USER nobody:nogroup`, `WORKDIR sub`, `WORKDIR ../x`, `STOPSIGNAL SIGINT`},
			container.Config{User: "nobody:nogroup", WorkingDir: "/app/x", StopSignal: "SIGINT"}},
		{"volumes", container.Config{}, []string{`VOLUME /data`, `VOLUME ["/a", "/b"]`},
			container.Config{Volumes: map[string]struct{}{"/data": {}, "/a": {}, "/b": {}}}},
		{"onbuild", container.Config{}, []string{`ONBUILD RUN echo built`},
			container.Config{OnBuild: []string{"RUN echo built"}}},
		{"healthcheck", container.Config{}, []string{`HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost`},
			container.Config{Healthcheck: &container.HealthConfig{Test: []string{"CMD-SHELL", "wget -q localhost"}, Interval: 5 * time.Second, Retries: 3}}},
		{"healthcheck exec", container.Config{}, []string{`HEALTHCHECK --start-period=1m --start-interval=2s CMD ["true"]`},
			container.Config{Healthcheck: &container.HealthConfig{Test: []string{"CMD", "true"}, StartPeriod: time.Minute, StartInterval: 2 * time.Second}}},
		{"healthcheck none", container.Config{Healthcheck: &container.HealthConfig{Test: []string{"CMD", "x"}}}, []string{`HEALTHCHECK NONE`},
			container.Config{Healthcheck: &container.HealthConfig{Test: []string{"NONE"}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.start
			if err := Apply(&cfg, c.changes); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg, c.want) {
				t.Errorf("got  %+v\nwant %+v", cfg, c.want)
			}
		})
	}
}

func port(s string) network.Port {
	p, err := network.ParsePort(s)
	if err != nil {
		panic(err)
	}
	return p
}

func TestApplyRefuses(t *testing.T) {
	for change, msg := range map[string]string{
		"RUN echo no":                      "run is not a valid change command",
		"FROM busybox":                     "from is not a valid change command",
		"MAINTAINER me":                    "maintainer is not a valid change command",
		"ENV =x":                           "ENV names can not be blank",
		"ENV a=1 b":                        `Syntax error - can't find = in "b". Must be of the form: name=value`,
		"EXPOSE 80/xtp":                    "invalid proto: xtp",
		"EXPOSE 0":                         "invalid containerPort: 0",
		"STOPSIGNAL NOPE":                  "Invalid signal: NOPE",
		"ONBUILD ONBUILD RUN x":            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
		"ONBUILD FROM x":                   "FROM isn't allowed as an ONBUILD trigger",
		"HEALTHCHECK --interval=1s NONE":   "HEALTHCHECK NONE takes no arguments",
		"HEALTHCHECK CMD":                  "Missing command after HEALTHCHECK CMD",
		"HEALTHCHECK RUN x":                `Unknown type "RUN" in HEALTHCHECK (try CMD)`,
		"HEALTHCHECK --retries=-1 CMD x":   "--retries cannot be negative (-1)",
		"HEALTHCHECK --interval=1ns CMD x": "cannot be less than 1ms",
		`VOLUME ""`:                        "VOLUME specified can not be an empty string",
		`ENV A="unclosed`:                  "matching double-quote",
	} {
		var cfg container.Config
		err := Apply(&cfg, []string{change})
		if !errdefs.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want invalid with %q", change, err, msg)
		}
	}
}
