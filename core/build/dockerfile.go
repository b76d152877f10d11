package build

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Instruction is one instruction of a Dockerfile, its continuation lines joined.
type Instruction struct {
	Keyword  string // upper case: FROM, RUN, COPY, ...
	Args     string // the text after the keyword, flags included
	Original string // the instruction as written, as Docker shows it in "Step n/m : ..."
	Line     int    // where it starts, 1-based
}

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Instructions []Instruction
	Escape       byte     // the escape character (\ or `)
	Warnings     []string // what Docker warns about (empty continuation lines)
}

// known are the instructions of the classic builder.
var known = map[string]bool{
	"FROM": true, "RUN": true, "CMD": true, "ENTRYPOINT": true, "ENV": true, "ARG": true, "LABEL": true,
	"EXPOSE": true, "VOLUME": true, "USER": true, "WORKDIR": true, "COPY": true, "ADD": true, "HEALTHCHECK": true,
	"SHELL": true, "STOPSIGNAL": true, "ONBUILD": true, "MAINTAINER": true,
}

var directive = regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`)

// parseError is Docker's wording for a Dockerfile it cannot read.
func parseError(line int, format string, a ...any) error {
	return fmt.Errorf("dockerfile parse error on line %d: %s: %w", line, fmt.Sprintf(format, a...), errdefs.ErrInvalid)
}

// Parse reads a Dockerfile as Docker does: parser directives (escape, syntax) on the first lines, comment
// lines dropped (inside continuations too), lines ending in the escape character continued, the first word
// the instruction (in any case).
func Parse(r io.Reader) (*Dockerfile, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	d := &Dockerfile{Escape: '\\'}
	var lines []string
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the Dockerfile: %w: %w", errdefs.ErrInvalid, err)
	}
	if len(lines) > 0 {
		lines[0] = strings.TrimPrefix(lines[0], "\ufeff")
	}
	i := 0
	// Parser directives: comments of the form "# key=value" before anything else.
	seen := map[string]bool{}
	for ; i < len(lines); i++ {
		m := directive.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			break
		}
		key := strings.ToLower(m[1])
		if seen[key] {
			return nil, parseError(i+1, "only one %s parser directive can be used", key)
		}
		seen[key] = true
		if key == "escape" {
			if m[2] != "`" && m[2] != `\` {
				return nil, parseError(i+1, "invalid escape token '%s' does not match ` or \\", m[2])
			}
			d.Escape = m[2][0]
		}
	}
	isComment := func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "#") }
	continued := func(l string) (string, bool) {
		t := strings.TrimRight(l, " \t")
		if strings.HasSuffix(t, string(d.Escape)) {
			return t[:len(t)-1], true
		}
		return l, false
	}
	for ; i < len(lines); i++ {
		l := strings.TrimLeft(lines[i], " \t")
		if l == "" || isComment(l) {
			continue
		}
		start := i + 1
		text, more := continued(l)
		for more && i+1 < len(lines) {
			i++
			next := lines[i]
			if isComment(next) {
				continue
			}
			if strings.TrimSpace(next) == "" {
				d.Warnings = append(d.Warnings, fmt.Sprintf("[WARNING]: Empty continuation line found in:\n    %s", strings.TrimSpace(text)))
				continue
			}
			var part string
			part, more = continued(next)
			text += part
		}
		text = strings.TrimSpace(text)
		word, rest, _ := strings.Cut(text, " ")
		if w, r, ok := strings.Cut(text, "\t"); ok && len(w) < len(word) {
			word, rest = w, r
		}
		kw := strings.ToUpper(word)
		if !known[kw] {
			return nil, parseError(start, "unknown instruction: %s", word)
		}
		d.Instructions = append(d.Instructions, Instruction{Keyword: kw, Args: strings.TrimSpace(rest), Original: text, Line: start})
	}
	if len(d.Instructions) == 0 {
		return nil, fmt.Errorf("the Dockerfile (Dockerfile) cannot be empty: %w", errdefs.ErrInvalid)
	}
	return d, nil
}

// flags splits the leading --name[=value] flags off an instruction's arguments; allowed names the flags the
// instruction takes (a flag given without a value is "true").
func (in Instruction) flags(allowed ...string) (map[string]string, string, error) {
	out := map[string]string{}
	rest := in.Args
	for strings.HasPrefix(rest, "--") {
		f, r, _ := strings.Cut(rest, " ")
		if i := strings.IndexAny(f, "\t"); i >= 0 {
			f, r = rest[:i], rest[i+1:]
		}
		rest = strings.TrimSpace(r)
		if f == "--" {
			break
		}
		name, value, hasValue := strings.Cut(f[2:], "=")
		if !hasValue {
			value = "true"
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if !ok {
			return nil, "", in.errorf("Unknown flag: %s", name)
		}
		if _, dup := out[name]; dup {
			return nil, "", in.errorf("Duplicate flag specified: %s", name)
		}
		out[name] = value
	}
	return out, rest, nil
}

// execForm reads a JSON array of strings ("exec form"); ok is false for the shell form.
func execForm(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") {
		return nil, false
	}
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, false
	}
	return list, true
}

// errorf is an error about the instruction, classed as invalid (a mistake in the Dockerfile).
func (in Instruction) errorf(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), errdefs.ErrInvalid)
}
