package dockerapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

func TestImageRoutes(t *testing.T) {
	reg, err := fixtures.StartRegistry("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	img, err := fixtures.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Push(context.Background(), fixtures.Busybox, img); err != nil {
		t.Fatal(err)
	}
	s := newStack(t)
	repo := reg.Addr + "/busybox"

	// Pull streams Docker's JSON messages.
	resp, err := http.Post(s.srv.URL+"/v1.50/images/create?fromImage="+url.QueryEscape(repo)+"&tag=latest", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []images.Message
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var m images.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		msgs = append(msgs, m)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || len(msgs) < 5 ||
		msgs[0].Status != "Pulling from busybox" || msgs[len(msgs)-1].Status != "Status: Downloaded newer image for "+repo+":latest" {
		t.Fatalf("pull: %d %v", resp.StatusCode, msgs)
	}
	if msgs[1].Status != "Pulling fs layer" {
		t.Errorf("second message = %+v", msgs[1])
	}

	for _, c := range []struct {
		method, path string
		status       int
		contains     string
	}{
		{"POST", "/images/create?fromImage=" + url.QueryEscape(reg.Addr+"/nope") + "&tag=latest", 404, "repository " + reg.Addr + "/nope not found"},
		{"POST", "/images/create?fromImage=Bad", 400, "invalid reference format"},
		{"GET", "/images/" + repo + ":latest/json", 200, `"RootFS":{"Type":"layers","Layers":["sha256:`},
		{"GET", "/images/" + repo + "/history", 200, `"CreatedBy":"fixtures: layer 0"`},
		{"GET", "/images/json", 200, `"RepoTags":["` + repo + `:latest"]`},
		{"POST", "/images/" + repo + "/tag?repo=mine/bb&tag=v1", 201, ""},
		{"DELETE", "/images/mine/bb:v1", 200, `[{"Untagged":"mine/bb:v1"}]`},
		{"DELETE", "/images/nope", 404, `No such image: nope:latest`},
		{"GET", "/images/nope/get", 404, `No such image: nope:latest`},
		{"POST", "/images/load", 400, "invalid archive"},
		{"POST", "/images/create?fromSrc=http://example.invalid/x.tar", 400, "fromSrc=-"},
	} {
		req, _ := http.NewRequest(c.method, s.srv.URL+c.path, nil)
		if c.path == "/images/load" {
			req.Body = http.NoBody
		}
		status, body := send(t, req)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s = %d %s, want %d containing %q", c.method, c.path, status, body, c.status, c.contains)
		}
	}
	info, err := s.engine.SystemInfo(context.Background())
	if err != nil || info.Images != 1 {
		t.Errorf("info.Images = %d, %v", info.Images, err)
	}
}

func send(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
	}
	return resp.StatusCode, b.String()
}
