package build

import (
	"bufio"
	"io"
	"path"
	"regexp"
	"strings"
)

// ignorePattern is one line of a .dockerignore file.
type ignorePattern struct {
	re        *regexp.Regexp
	exclusion bool // "!pattern": put back what an earlier pattern left out
}

// ignoreList is a .dockerignore file: which paths of the context the builder leaves out.
type ignoreList []ignorePattern

// parseDockerignore reads a .dockerignore as Docker does: one pattern a line, "#" comments, a leading "!"
// for exceptions, paths cleaned and taken from the context's root, Go's filepath.Match syntax plus "**"
// for any number of directories.
func parseDockerignore(r io.Reader) (ignoreList, error) {
	var out ignoreList
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{}
		if strings.HasPrefix(line, "!") {
			p.exclusion = true
			line = strings.TrimSpace(line[1:])
		}
		line = strings.TrimPrefix(path.Clean(strings.TrimPrefix(line, "/")), "/")
		if line == "." {
			line = ""
		}
		if line == "" && !p.exclusion {
			continue
		}
		re, err := regexp.Compile(patternRegexp(line))
		if err != nil {
			return nil, err
		}
		p.re = re
		out = append(out, p)
	}
	return out, sc.Err()
}

// patternRegexp translates a .dockerignore pattern into an anchored regular expression.
func patternRegexp(p string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '*' && i+1 < len(p) && p[i+1] == '*':
			i++
			if i+1 < len(p) && p[i+1] == '/' {
				i++
				b.WriteString("(.*/)?") // "**/" matches no directory too
			} else {
				b.WriteString(".*")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			end := strings.IndexByte(p[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := p[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += end + 1
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteString(regexp.QuoteMeta(string(p[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return b.String()
}

// excluded says whether name (a clean path relative to the context's root) is left out: the last pattern
// that matches it or one of its parent directories decides.
func (l ignoreList) excluded(name string) bool {
	out := false
	for _, p := range l {
		if p.matches(name) {
			out = !p.exclusion
		}
	}
	return out
}

func (p ignorePattern) matches(name string) bool {
	if p.re.MatchString(name) {
		return true
	}
	for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if p.re.MatchString(dir) {
			return true
		}
	}
	return false
}
