package tether

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vice-engine/vice/tether/wire"
)

// top answers wire.RequestTop: the guest's process table (the tether, PID 1, left out: it is the VM's
// init, not the container's) in the columns ps prints for the arguments.
func top(memLimit func() uint64) requestHandler {
	return func(payload []byte) (bool, []byte) {
		var req wire.TopRequest
		if len(payload) > 0 {
			if err := json.Unmarshal(payload, &req); err != nil {
				return replyError(err)
			}
		}
		if len(req.Args) == 0 {
			req.Args = []string{"-ef"} // what the port layer and Docker default to
		}
		cols, err := psColumns(req.Args)
		if err != nil {
			return replyError(err)
		}
		table := psTable(cols, readProcs(), psContext{now: time.Now(), boot: bootTime(), memTotal: memLimit(),
			users: nameTable("/etc/passwd"), groups: nameTable("/etc/group")})
		b, _ := json.Marshal(table)
		return true, b
	}
}

// proc is one process as /proc describes it.
type proc struct {
	pid, ppid, pgid, sid int
	uid, gid             int
	comm, state          string
	args                 []string
	tty                  uint64
	utime, stime         uint64 // clock ticks
	start                uint64 // clock ticks after boot
	vsz, rssPages        uint64
	nice, threads        int64
	sessionLeader        bool
	foreground           bool
}

// readProcs reads every process of the guest but PID 1, in PID order.
func readProcs() []proc {
	var out []proc
	for _, pid := range processIDs() {
		if pid == 1 {
			continue
		}
		if p, ok := readProcess(pid); ok {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out
}

func readProcess(pid int) (proc, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	stat := readProc(dir + "/stat")
	open, close := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || close < open {
		return proc{}, false
	}
	f := strings.Fields(stat[close+1:])
	if len(f) < 22 {
		return proc{}, false
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	p := proc{pid: pid, comm: stat[open+1 : close], state: f[0], ppid: atoi(f[1]), pgid: atoi(f[2]),
		sid: atoi(f[3]), tty: parseUint(f[4]), utime: parseUint(f[11]), stime: parseUint(f[12]),
		start: parseUint(f[19]), vsz: parseUint(f[20]), rssPages: parseUint(f[21])}
	p.nice, _ = strconv.ParseInt(f[16], 10, 64)
	p.threads, _ = strconv.ParseInt(f[17], 10, 64)
	p.sessionLeader = p.sid == pid
	p.foreground = atoi(f[5]) == p.pgid
	status := readProc(dir + "/status")
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "Uid:"); ok {
			if fs := strings.Fields(v); len(fs) > 1 {
				p.uid = atoi(fs[1])
			}
		} else if v, ok := strings.CutPrefix(line, "Gid:"); ok {
			if fs := strings.Fields(v); len(fs) > 1 {
				p.gid = atoi(fs[1])
			}
		}
	}
	if cmdline := strings.TrimRight(readProc(dir+"/cmdline"), "\x00"); cmdline != "" {
		p.args = strings.Split(cmdline, "\x00")
	}
	return p, true
}

// psContext is what the columns are computed against.
type psContext struct {
	now           time.Time
	boot          time.Time
	memTotal      uint64
	users, groups map[int]string
}

// psColumn is one column ps can print.
type psColumn struct {
	title string
	value func(p proc, c psContext) string
}

var psFields = map[string]psColumn{
	"pid":     {"PID", func(p proc, _ psContext) string { return strconv.Itoa(p.pid) }},
	"ppid":    {"PPID", func(p proc, _ psContext) string { return strconv.Itoa(p.ppid) }},
	"pgid":    {"PGID", func(p proc, _ psContext) string { return strconv.Itoa(p.pgid) }},
	"sid":     {"SID", func(p proc, _ psContext) string { return strconv.Itoa(p.sid) }},
	"uid":     {"UID", func(p proc, _ psContext) string { return strconv.Itoa(p.uid) }},
	"gid":     {"GID", func(p proc, _ psContext) string { return strconv.Itoa(p.gid) }},
	"user":    {"USER", func(p proc, c psContext) string { return nameOf(c.users, p.uid) }},
	"ruser":   {"RUSER", func(p proc, c psContext) string { return nameOf(c.users, p.uid) }},
	"group":   {"GROUP", func(p proc, c psContext) string { return nameOf(c.groups, p.gid) }},
	"comm":    {"COMMAND", func(p proc, _ psContext) string { return p.comm }},
	"args":    {"COMMAND", func(p proc, _ psContext) string { return commandLine(p) }},
	"command": {"COMMAND", func(p proc, _ psContext) string { return commandLine(p) }},
	"cmd":     {"CMD", func(p proc, _ psContext) string { return commandLine(p) }},
	"stat":    {"STAT", func(p proc, _ psContext) string { return bsdState(p) }},
	"state":   {"S", func(p proc, _ psContext) string { return p.state }},
	"s":       {"S", func(p proc, _ psContext) string { return p.state }},
	"tty":     {"TT", func(p proc, _ psContext) string { return ttyName(p.tty) }},
	"tt":      {"TT", func(p proc, _ psContext) string { return ttyName(p.tty) }},
	"rss":     {"RSS", func(p proc, _ psContext) string { return strconv.FormatUint(p.rssPages*pageKiB(), 10) }},
	"vsz":     {"VSZ", func(p proc, _ psContext) string { return strconv.FormatUint(p.vsz/1024, 10) }},
	"nice":    {"NI", func(p proc, _ psContext) string { return strconv.FormatInt(p.nice, 10) }},
	"ni":      {"NI", func(p proc, _ psContext) string { return strconv.FormatInt(p.nice, 10) }},
	"nlwp":    {"NLWP", func(p proc, _ psContext) string { return strconv.FormatInt(p.threads, 10) }},
	"pcpu":    {"%CPU", func(p proc, c psContext) string { return fmt.Sprintf("%.1f", cpuPercent(p, c)) }},
	"%cpu":    {"%CPU", func(p proc, c psContext) string { return fmt.Sprintf("%.1f", cpuPercent(p, c)) }},
	"c":       {"C", func(p proc, c psContext) string { return strconv.Itoa(int(cpuPercent(p, c))) }},
	"pmem":    {"%MEM", func(p proc, c psContext) string { return memPercent(p, c) }},
	"%mem":    {"%MEM", func(p proc, c psContext) string { return memPercent(p, c) }},
	"time":    {"TIME", func(p proc, _ psContext) string { return cpuTime(p) }},
	"cputime": {"TIME", func(p proc, _ psContext) string { return cpuTime(p) }},
	"etime":   {"ELAPSED", func(p proc, c psContext) string { return elapsed(c.now.Sub(startedAt(p, c))) }},
	"stime":   {"STIME", func(p proc, c psContext) string { return startTime(p, c) }},
	"start":   {"START", func(p proc, c psContext) string { return startTime(p, c) }},
	"lstart":  {"STARTED", func(p proc, c psContext) string { return startedAt(p, c).Format("Mon Jan _2 15:04:05 2006") }},
}

// The formats ps prints without -o: procps's default, -f, u and BSD's own.
var (
	psDefault = []string{"pid", "tty=TTY", "time", "comm=CMD"}
	psFull    = []string{"uid:user", "pid", "ppid", "c", "stime", "tty=TTY", "time", "cmd"}
	psUser    = []string{"user", "pid", "%cpu", "%mem", "vsz", "rss", "tty=TTY", "stat", "start", "bsdtime", "command"}
	psBSD     = []string{"pid", "tty=TTY", "stat", "bsdtime", "command"}
)

// psColumns reads ps's arguments (procps's Unix options -e -A -a -f -o and BSD's a u x o, with the usual
// harmless ones accepted) into the columns to print. Anything else is an error, as ps would give one.
func psColumns(args []string) ([]psColumn, error) {
	var fields []string
	full, user, bsd := false, false, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "" {
			continue
		}
		if strings.HasPrefix(a, "--") {
			return nil, fmt.Errorf("ps: unsupported option %q", a)
		}
		unix := strings.HasPrefix(a, "-")
		letters := strings.TrimPrefix(a, "-")
		for j, r := range letters {
			switch {
			case r == 'o' || r == 'O':
				list := letters[j+1:]
				if list == "" {
					if i+1 >= len(args) {
						return nil, fmt.Errorf("ps: option %q needs a list of fields", a)
					}
					i++
					list = args[i]
				}
				for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
					fields = append(fields, f)
				}
			case r == 'f' && unix:
				full = true
			case r == 'u' && !unix:
				user = true
			case strings.ContainsRune("eAadxwlgTHj", r) || (r == 'f' && !unix):
				if !unix && (r == 'a' || r == 'x') {
					bsd = true
				}
				continue // every process is shown, in the guest's own table
			default:
				return nil, fmt.Errorf("ps: unsupported option %q in %q", string(r), a)
			}
			if r == 'o' || r == 'O' {
				break
			}
		}
	}
	switch {
	case len(fields) > 0:
	case user:
		fields = psUser
	case full:
		fields = psFull
	case bsd:
		fields = psBSD
	default:
		fields = psDefault
	}
	cols := make([]psColumn, 0, len(fields))
	for _, f := range fields {
		name, title, renamed := strings.Cut(f, "=")
		if alias, ok := strings.CutPrefix(name, "uid:"); ok { // -f's UID column shows the user's name
			name, title, renamed = alias, "UID", true
		}
		c, ok := psFields[strings.ToLower(name)]
		if name == "bsdtime" {
			c, ok = psColumn{"TIME", func(p proc, _ psContext) string { return bsdTime(p) }}, true
		}
		if !ok {
			return nil, fmt.Errorf("ps: unknown field %q", name)
		}
		if renamed {
			c.title = title
		}
		cols = append(cols, c)
	}
	return cols, nil
}

func psTable(cols []psColumn, procs []proc, c psContext) wire.ProcessTable {
	t := wire.ProcessTable{Titles: make([]string, len(cols)), Processes: [][]string{}}
	for i, col := range cols {
		t.Titles[i] = col.title
	}
	for _, p := range procs {
		row := make([]string, len(cols))
		for i, col := range cols {
			row[i] = col.value(p, c)
		}
		t.Processes = append(t.Processes, row)
	}
	return t
}

func commandLine(p proc) string {
	if len(p.args) == 0 {
		return "[" + p.comm + "]"
	}
	return strings.Join(p.args, " ")
}

// bsdState is ps's STAT: the state, then s (session leader), l (threads), + (foreground), N or < (nice).
func bsdState(p proc) string {
	s := p.state
	switch {
	case p.nice > 0:
		s += "N"
	case p.nice < 0:
		s += "<"
	}
	if p.sessionLeader {
		s += "s"
	}
	if p.threads > 1 {
		s += "l"
	}
	if p.foreground && p.tty != 0 {
		s += "+"
	}
	return s
}

// ttyName names a tty_nr: pts/N for the pseudo-terminals, ttyN for consoles, ? for none.
func ttyName(nr uint64) string {
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	switch {
	case nr == 0:
		return "?"
	case major >= 136 && major <= 143:
		return fmt.Sprintf("pts/%d", (major-136)*256+minor)
	case major == 4 && minor < 64:
		return fmt.Sprintf("tty%d", minor)
	case major == 5 && minor == 1:
		return "console"
	}
	return "?"
}

func startedAt(p proc, c psContext) time.Time {
	return c.boot.Add(time.Duration(p.start) * time.Second / clockTicks)
}

// startTime is ps's STIME: the time of day when started today, else the month and day.
func startTime(p proc, c psContext) string {
	t := startedAt(p, c)
	if c.now.Sub(t) < 24*time.Hour {
		return t.Format("15:04")
	}
	return t.Format("Jan02")
}

func cpuPercent(p proc, c psContext) float64 {
	secs := c.now.Sub(startedAt(p, c)).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(p.utime+p.stime) / clockTicks / secs * 100
}

func memPercent(p proc, c psContext) string {
	if c.memTotal == 0 {
		return "0.0"
	}
	return fmt.Sprintf("%.1f", float64(p.rssPages*pageKiB()*1024)/float64(c.memTotal)*100)
}

// cpuTime is procps's TIME: [DD-]HH:MM:SS of CPU.
func cpuTime(p proc) string {
	s := (p.utime + p.stime) / clockTicks
	if d := s / 86400; d > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", d, s%86400/3600, s%3600/60, s%60)
	}
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s%3600/60, s%60)
}

// bsdTime is BSD's TIME: M:SS of CPU.
func bsdTime(p proc) string {
	s := (p.utime + p.stime) / clockTicks
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// elapsed is ps's ELAPSED: [[DD-]HH:]MM:SS.
func elapsed(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s >= 86400:
		return fmt.Sprintf("%d-%02d:%02d:%02d", s/86400, s%86400/3600, s%3600/60, s%60)
	case s >= 3600:
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s%3600/60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// bootTime is when the machine booted (/proc/stat's btime), the base of processes' start times.
func bootTime() time.Time {
	for _, line := range strings.Split(readProc("/proc/stat"), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return time.Unix(int64(parseUint(v)), 0)
		}
	}
	return time.Time{}
}

func pageKiB() uint64 { return uint64(os.Getpagesize() / 1024) }

// nameTable reads the names of /etc/passwd or /etc/group by their IDs.
func nameTable(file string) map[int]string {
	out := map[int]string{}
	for _, line := range strings.Split(readProc(file), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 3 {
			if id, err := strconv.Atoi(f[2]); err == nil {
				if _, seen := out[id]; !seen {
					out[id] = f[0]
				}
			}
		}
	}
	return out
}

func nameOf(names map[int]string, id int) string {
	if n, ok := names[id]; ok {
		return n
	}
	return strconv.Itoa(id)
}
