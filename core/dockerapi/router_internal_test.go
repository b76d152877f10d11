package dockerapi

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// patternRegexp is what a pattern means, as a regular expression: {name} is one non-empty segment, and
// {name:.*} one or more characters, slashes included.
func patternRegexp(pattern string) *regexp.Regexp {
	// QuoteMeta escapes the braces, the dot and the star: the names are matched in their escaped form.
	expr := regexp.MustCompile(`\\\{[a-z]+:\\\.\\\*\\\}`).ReplaceAllString(regexp.QuoteMeta(pattern), `(.+)`)
	expr = regexp.MustCompile(`\\\{[a-z]+\\\}`).ReplaceAllString(expr, `([^/]+)`)
	return regexp.MustCompile("^" + expr + "$")
}

// Every route's matcher agrees with its pattern's regular expression on paths made of the pattern's own
// segments, their neighbours' and odd ones (empty segments, slashes in values, trailing slashes).
func TestRouteMatchesAsItsPattern(t *testing.T) {
	a := New(nil)
	words := []string{"", "json", "containers", "images", "a", "a/b", "sha256:ab", "x.y", "logs", "archive"}
	for _, rt := range a.routes {
		for _, seg := range strings.Split(rt.pattern, "/") {
			if !strings.Contains(seg, "{") && !slices.Contains(words, seg) {
				words = append(words, seg)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	var paths []string
	for _, rt := range a.routes {
		// The pattern with its names filled in, then mangled.
		filled := regexp.MustCompile(`\{[a-z]+:\.\*\}`).ReplaceAllString(rt.pattern, "lib/busybox")
		filled = regexp.MustCompile(`\{[a-z]+\}`).ReplaceAllString(filled, "abc")
		paths = append(paths, filled, filled+"/", strings.Replace(filled, "abc", "", 1),
			strings.Replace(filled, "lib/busybox", "", 1), strings.Replace(filled, "lib/busybox", "/", 1),
			strings.Replace(filled, "lib/busybox", "a//b", 1))
	}
	for range 20000 {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString("/" + words[r.IntN(len(words))])
		}
		paths = append(paths, b.String())
	}
	matched := 0
	for _, rt := range a.routes {
		re := patternRegexp(rt.pattern)
		for _, p := range paths {
			want := re.FindStringSubmatch(p)
			got, ok := rt.matchPath(p)
			if ok != (want != nil) || (ok && !slices.Equal(got, want[1:])) {
				t.Fatalf("%s on %q: matched %v %q, its pattern says %q", rt.pattern, p, ok, got, want)
			}
			if ok {
				matched++
			}
		}
	}
	if matched < len(a.routes) {
		t.Fatalf("only %d matches over %d routes", matched, len(a.routes))
	}
}

func BenchmarkMatch(b *testing.B) {
	a := New(nil)
	for b.Loop() {
		a.match("GET", "/containers/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/logs")
	}
}
