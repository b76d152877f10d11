package changes

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
)

// minHealthInterval is the shortest interval, timeout or period Docker takes (0 keeps the default).
const minHealthInterval = time.Millisecond

// applyHealthcheck reads HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D]
// [--retries=N] CMD command, or HEALTHCHECK NONE.
func applyHealthcheck(cfg *container.Config, arg string) error {
	hc := &container.HealthConfig{}
	rest := arg
	for strings.HasPrefix(rest, "--") {
		var flag string
		flag, rest, _ = strings.Cut(rest, " ")
		rest = strings.TrimSpace(rest)
		name, value, ok := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
		if !ok {
			return fmt.Errorf("flag --%s needs a value", name)
		}
		var err error
		switch name {
		case "interval":
			hc.Interval, err = duration(name, value)
		case "timeout":
			hc.Timeout, err = duration(name, value)
		case "start-period":
			hc.StartPeriod, err = duration(name, value)
		case "start-interval":
			hc.StartInterval, err = duration(name, value)
		case "retries":
			var n int
			if n, err = strconv.Atoi(value); err == nil && n < 0 {
				err = fmt.Errorf("--retries cannot be negative (%d)", n)
			}
			hc.Retries = n
		default:
			err = fmt.Errorf("unknown flag: --%s", name)
		}
		if err != nil {
			return err
		}
	}
	typ, cmd, _ := strings.Cut(rest, " ")
	cmd = strings.TrimSpace(cmd)
	switch strings.ToUpper(typ) {
	case "NONE":
		if cmd != "" || rest != typ || arg != rest {
			return fmt.Errorf("HEALTHCHECK NONE takes no arguments")
		}
		cfg.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
		return nil
	case "CMD":
		if cmd == "" {
			return fmt.Errorf("Missing command after HEALTHCHECK CMD")
		}
		var exec []string
		if strings.HasPrefix(cmd, "[") && json.Unmarshal([]byte(cmd), &exec) == nil {
			hc.Test = append([]string{"CMD"}, exec...)
		} else {
			hc.Test = []string{"CMD-SHELL", cmd}
		}
		cfg.Healthcheck = hc
		return nil
	}
	return fmt.Errorf("Unknown type %q in HEALTHCHECK (try CMD)", typ)
}

func duration(name, value string) (time.Duration, error) {
	d, err := time.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("invalid --%s: %v", name, err)
	}
	if d != 0 && d < minHealthInterval {
		return 0, fmt.Errorf("Interval %q cannot be less than %s", name, minHealthInterval)
	}
	return d, nil
}
