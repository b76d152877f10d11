package changes

import (
	"fmt"
	"strings"
)

// Words splits s as a Dockerfile's instructions split their arguments (see words), expanding variables
// from env; the builder uses it for FROM, COPY, ADD and ARG.
func Words(s string, env func(string) string) ([]string, error) { return words(s, env) }

// words splits s as a Dockerfile's shell-like words: blanks separate words, '...' quotes literally, "..."
// quotes with \ escaping " \ $ and the newline, \ escapes the next character outside quotes, and $NAME or
// ${NAME} expand from env (not inside '...'). Quotes and escapes are removed.
func words(s string, env func(string) string) ([]string, error) {
	var out []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				out = append(out, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'':
			inWord = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unexpected end of statement while looking for matching single-quote")
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			inWord = true
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				switch {
				case s[j] == '\\' && j+1 < len(s) && strings.IndexByte("\"\\$\n", s[j+1]) >= 0:
					j++
					w.WriteByte(s[j])
				case s[j] == '$':
					n := expand(s[j:], env, &w)
					j += n - 1
				default:
					w.WriteByte(s[j])
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unexpected end of statement while looking for matching double-quote")
			}
			i = j
		case c == '\\' && i+1 < len(s):
			inWord = true
			i++
			w.WriteByte(s[i])
		case c == '$':
			inWord = true
			i += expand(s[i:], env, &w) - 1
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	if inWord {
		out = append(out, w.String())
	}
	return out, nil
}

// expand writes the value of the variable that s starts with ("$NAME" or "${NAME}") and returns how many
// bytes of s it took; a lone "$" is itself.
func expand(s string, env func(string) string, w *strings.Builder) int {
	if len(s) > 1 && s[1] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			w.WriteString(s)
			return len(s)
		}
		inner := s[2:end]
		if name, alt, ok := strings.Cut(inner, ":+"); ok {
			if env(name) != "" {
				w.WriteString(alt)
			}
			return end + 1
		}
		name, def, hasDef := strings.Cut(inner, ":-")
		v := env(name)
		if v == "" && hasDef {
			v = def
		}
		w.WriteString(v)
		return end + 1
	}
	n := 1
	for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || n > 1 && s[n] >= '0' && s[n] <= '9') {
		n++
	}
	if n == 1 {
		w.WriteByte('$')
		return 1
	}
	w.WriteString(env(s[1:n]))
	return n
}
