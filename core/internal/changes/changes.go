package changes

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Apply applies the instructions changes (one each) to cfg, in order. An instruction Docker does not take
// for a commit, or one it would refuse, is an errdefs.ErrInvalid error; cfg is then partly changed.
func Apply(cfg *container.Config, changes []string) error {
	return ApplyWith(cfg, changes, nil)
}

// ApplyWith is Apply whose variables, when the config's environment lacks them, are looked up in vars
// (a Dockerfile's build arguments: ENV wins over ARG, as in Docker). vars may be nil.
func ApplyWith(cfg *container.Config, changes []string, vars func(string) (string, bool)) error {
	env := func(name string) string {
		if v, ok := lookupEnv(cfg, name); ok {
			return v
		}
		if vars != nil {
			v, _ := vars(name)
			return v
		}
		return ""
	}
	cmdSet := false
	for _, ch := range changes {
		line := strings.TrimSpace(ch)
		if line == "" {
			continue
		}
		instr, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		var err error
		switch kw := strings.ToLower(instr); kw {
		case "cmd":
			cfg.Cmd, cmdSet = commandForm(arg), true
		case "entrypoint":
			cfg.Entrypoint = commandForm(arg)
			// As in a Dockerfile, an ENTRYPOINT drops the CMD it did not come with.
			if !cmdSet {
				cfg.Cmd = nil
			}
		case "env":
			err = applyEnv(cfg, arg, env)
		case "label":
			err = applyLabel(cfg, arg, env)
		case "expose":
			err = applyExpose(cfg, arg, env)
		case "volume":
			err = applyVolume(cfg, arg, env)
		case "user":
			cfg.User, err = oneWord(kw, arg, env)
		case "workdir":
			var dir string
			if dir, err = oneWord(kw, arg, env); err == nil {
				if !path.IsAbs(dir) {
					dir = path.Join("/", cfg.WorkingDir, dir)
				}
				cfg.WorkingDir = path.Clean(dir)
			}
		case "stopsignal":
			var sig string
			if sig, err = oneWord(kw, arg, env); err == nil {
				if !validSignal(sig) {
					err = fmt.Errorf("Invalid signal: %s", sig)
				} else {
					cfg.StopSignal = sig
				}
			}
		case "onbuild":
			err = applyOnBuild(cfg, arg)
		case "healthcheck":
			err = applyHealthcheck(cfg, arg)
		default:
			return fmt.Errorf("%s is not a valid change command: %w", kw, errdefs.ErrInvalid)
		}
		if err != nil {
			return fmt.Errorf("Dockerfile parse error on %q: %v: %w", line, err, errdefs.ErrInvalid)
		}
	}
	return nil
}

// lookupEnv looks a variable up in cfg's environment.
func lookupEnv(cfg *container.Config, name string) (string, bool) {
	for i := len(cfg.Env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(cfg.Env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// commandForm is the exec form ["a","b"] as is, or the shell form wrapped in /bin/sh -c.
func commandForm(arg string) []string {
	var exec []string
	if strings.HasPrefix(arg, "[") && json.Unmarshal([]byte(arg), &exec) == nil {
		return exec
	}
	return []string{"/bin/sh", "-c", arg}
}

// KeyValues reads the arguments of ENV or LABEL (what names which) as Docker does: "k=v k2=v2" or the
// legacy "k v", quotes removed and variables expanded from env.
func KeyValues(what, arg string, env func(string) string) ([][2]string, error) {
	kvs, err := pairs(what, arg, env)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errdefs.ErrInvalid)
	}
	return kvs, nil
}

// pairs reads "k=v k2=v2" or the legacy "k v" (the value the rest of the line).
func pairs(what, arg string, env func(string) string) ([][2]string, error) {
	ws, err := words(arg, env)
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("%s requires at least one argument", strings.ToUpper(what))
	}
	if !strings.Contains(ws[0], "=") {
		key, rest, _ := strings.Cut(arg, " ")
		vals, err := words(strings.TrimSpace(rest), env)
		if err != nil {
			return nil, err
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("%s must have two arguments", strings.ToUpper(what))
		}
		return [][2]string{{key, strings.Join(vals, " ")}}, nil
	}
	var out [][2]string
	for _, w := range ws {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return nil, fmt.Errorf("Syntax error - can't find = in %q. Must be of the form: name=value", w)
		}
		if k == "" {
			return nil, fmt.Errorf("%s names can not be blank", strings.ToUpper(what))
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func applyEnv(cfg *container.Config, arg string, env func(string) string) error {
	kvs, err := pairs("env", arg, env)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		entry := kv[0] + "=" + kv[1]
		if i := slices.IndexFunc(cfg.Env, func(e string) bool { return strings.HasPrefix(e, kv[0]+"=") || e == kv[0] }); i >= 0 {
			cfg.Env[i] = entry
		} else {
			cfg.Env = append(cfg.Env, entry)
		}
	}
	return nil
}

func applyLabel(cfg *container.Config, arg string, env func(string) string) error {
	kvs, err := pairs("label", arg, env)
	if err != nil {
		return err
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for _, kv := range kvs {
		cfg.Labels[kv[0]] = kv[1]
	}
	return nil
}

func applyExpose(cfg *container.Config, arg string, env func(string) string) error {
	ws, err := words(arg, env)
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		return fmt.Errorf("EXPOSE requires at least one argument")
	}
	for _, w := range ws {
		ports, err := portRange(w)
		if err != nil {
			return err
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = network.PortSet{}
		}
		for _, p := range ports {
			cfg.ExposedPorts[p] = struct{}{}
		}
	}
	return nil
}

// portRange reads "80", "80/udp" or "8000-8002/tcp".
func portRange(s string) ([]network.Port, error) {
	spec, proto, _ := strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	lo, hi, isRange := strings.Cut(spec, "-")
	if !isRange {
		hi = lo
	}
	first, err1 := strconv.ParseUint(lo, 10, 16)
	last, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || first == 0 || last < first {
		return nil, fmt.Errorf("invalid containerPort: %s", spec)
	}
	var out []network.Port
	for p := first; p <= last; p++ {
		port, err := network.ParsePort(strconv.FormatUint(p, 10) + "/" + proto)
		if err != nil {
			return nil, err
		}
		out = append(out, port)
	}
	return out, nil
}

func applyVolume(cfg *container.Config, arg string, env func(string) string) error {
	var list []string
	if strings.HasPrefix(arg, "[") && json.Unmarshal([]byte(arg), &list) == nil {
		for i, v := range list {
			expanded, err := words(`"`+strings.ReplaceAll(v, `"`, `\"`)+`"`, env)
			if err != nil {
				return err
			}
			list[i] = strings.Join(expanded, "")
		}
	} else {
		var err error
		if list, err = words(arg, env); err != nil {
			return err
		}
	}
	if len(list) == 0 {
		return fmt.Errorf("VOLUME requires at least one argument")
	}
	for _, v := range list {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("VOLUME specified can not be an empty string")
		}
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		cfg.Volumes[v] = struct{}{}
	}
	return nil
}

func applyOnBuild(cfg *container.Config, arg string) error {
	trigger, _, _ := strings.Cut(arg, " ")
	switch strings.ToUpper(trigger) {
	case "":
		return fmt.Errorf("ONBUILD requires at least one argument")
	case "ONBUILD":
		return fmt.Errorf("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
	case "FROM", "MAINTAINER":
		return fmt.Errorf("%s isn't allowed as an ONBUILD trigger", strings.ToUpper(trigger))
	}
	cfg.OnBuild = append(cfg.OnBuild, arg)
	return nil
}

// oneWord is the single (expanded) argument of USER, WORKDIR and STOPSIGNAL.
func oneWord(what, arg string, env func(string) string) (string, error) {
	ws, err := words(arg, env)
	if err != nil {
		return "", err
	}
	if len(ws) != 1 {
		return "", fmt.Errorf("%s requires exactly one argument", strings.ToUpper(what))
	}
	return ws[0], nil
}

// validSignal accepts a signal number or a name Linux has, with or without "SIG".
func validSignal(s string) bool {
	if n, err := strconv.Atoi(s); err == nil {
		return n > 0 && n <= 64
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if rt, ok := strings.CutPrefix(name, "RTMIN+"); ok {
		n, err := strconv.Atoi(rt)
		return err == nil && n >= 0 && n <= 30
	}
	return slices.Contains([]string{"ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
		"KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN",
		"TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"}, name)
}
