package tether

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vice-engine/vice/tether/wire"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on every Linux architecture vice runs on).
const clockTicks = 100

// statsReader samples the container's usage: from its cgroup when the emulator gave it one, else from the
// whole machine.
type statsReader struct {
	cg *guestCgroup // nil in a real VM
}

// answer serves wire.RequestStats.
func (r *statsReader) answer([]byte) (bool, []byte) {
	b, err := json.Marshal(r.sample())
	if err != nil {
		return replyError(err)
	}
	return true, b
}

func (r *statsReader) sample() wire.Stats {
	st := wire.Stats{Read: time.Now().UTC(), Networks: netDev(readProc("/proc/net/dev"))}
	procStat := readProc("/proc/stat")
	st.CPU.System, st.CPU.Online = machineCPU(procStat)
	meminfo := keyValues(readProc("/proc/meminfo"), 1024) // kB
	if r.cg != nil {
		r.cgroupStats(&st, meminfo)
	} else {
		machineStats(&st, procStat, meminfo)
	}
	return st
}

// cgroupStats fills the sample from the guest's cgroup, v1 controllers first (a hybrid host has both).
func (r *statsReader) cgroupStats(st *wire.Stats, meminfo map[string]uint64) {
	cg := r.cg
	if v, ok := cg.read("cpuacct", "cpuacct.usage"); ok {
		st.CPU.Total = parseUint(v)
		if v, ok := cg.read("cpuacct", "cpuacct.usage_percpu"); ok {
			for _, f := range strings.Fields(v) {
				st.CPU.PerCPU = append(st.CPU.PerCPU, parseUint(f))
			}
		}
		if v, ok := cg.read("cpuacct", "cpuacct.stat"); ok {
			kv := keyValues(v, 1e9/clockTicks)
			st.CPU.User, st.CPU.Kernel = kv["user"], kv["system"]
		}
	} else if v, ok := cg.read("", "cpu.stat"); ok {
		kv := keyValues(v, 1000) // microseconds
		st.CPU.Total, st.CPU.User, st.CPU.Kernel = kv["usage_usec"], kv["user_usec"], kv["system_usec"]
	}
	if n := cgroupCPUs(cg); n > 0 {
		st.CPU.Online = n
	}

	st.Memory.Limit = meminfo["MemTotal"]
	if v, ok := cg.read("memory", "memory.usage_in_bytes"); ok {
		st.Memory.Usage = parseUint(v)
		if v, ok := cg.read("memory", "memory.max_usage_in_bytes"); ok {
			st.Memory.MaxUsage = parseUint(v)
		}
		if v, ok := cg.read("memory", "memory.limit_in_bytes"); ok {
			st.Memory.Limit = min(parseUint(v), st.Memory.Limit)
		}
		if v, ok := cg.read("memory", "memory.stat"); ok {
			st.Memory.Stats = keyValues(v, 1)
		}
	} else if v, ok := cg.read("", "memory.current"); ok {
		st.Memory.Usage = parseUint(v)
		if v, ok := cg.read("", "memory.peak"); ok {
			st.Memory.MaxUsage = parseUint(v)
		}
		if v, ok := cg.read("", "memory.max"); ok && strings.TrimSpace(v) != "max" {
			st.Memory.Limit = min(parseUint(v), st.Memory.Limit)
		}
		if v, ok := cg.read("", "memory.stat"); ok {
			st.Memory.Stats = keyValues(v, 1)
		}
	} else {
		st.Memory.Usage = processesRSS()
	}

	if v, ok := cg.read("pids", "pids.current"); ok {
		st.Pids.Current = parseUint(v)
		if v, ok := cg.read("pids", "pids.max"); ok {
			st.Pids.Limit = parseUint(v) // "max" parses as 0: no limit
		}
	} else if v, ok := cg.read("", "pids.current"); ok {
		st.Pids.Current = parseUint(v)
		if v, ok := cg.read("", "pids.max"); ok {
			st.Pids.Limit = parseUint(v)
		}
	} else {
		st.Pids.Current = uint64(len(processIDs()))
	}

	if bytes, ok := cg.read("blkio", "blkio.throttle.io_service_bytes"); ok {
		ios, _ := cg.read("blkio", "blkio.throttle.io_serviced")
		st.Blkio = blkioV1(bytes, ios)
	} else if v, ok := cg.read("", "io.stat"); ok {
		st.Blkio = ioStatV2(v)
	}
}

// machineStats fills the sample from the machine's own counters: the tether is alone in its VM.
func machineStats(st *wire.Stats, procStat string, meminfo map[string]uint64) {
	for _, line := range strings.Split(procStat, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		user := (parseUint(f[1]) + parseUint(f[2])) * (1e9 / clockTicks)
		kernel := (parseUint(f[3]) + parseUint(f[6]) + parseUint(f[7])) * (1e9 / clockTicks)
		if f[0] == "cpu" {
			st.CPU.User, st.CPU.Kernel, st.CPU.Total = user, kernel, user+kernel
		} else {
			st.CPU.PerCPU = append(st.CPU.PerCPU, user+kernel)
		}
	}
	st.Memory.Limit = meminfo["MemTotal"]
	st.Memory.Usage = meminfo["MemTotal"] - min(meminfo["MemAvailable"], meminfo["MemTotal"])
	st.Memory.Stats = map[string]uint64{"cache": meminfo["Cached"], "inactive_file": meminfo["Inactive(file)"],
		"active_file": meminfo["Active(file)"]}
	st.Pids.Current = uint64(len(processIDs()))
	st.Blkio = diskStats(readProc("/proc/diskstats"))
}

// machineCPU is the machine's CPU time in nanoseconds (Docker's system_cpu_usage: the first seven fields
// of /proc/stat's cpu line) and its number of CPUs.
func machineCPU(procStat string) (uint64, int) {
	var total uint64
	cpus := 0
	for _, line := range strings.Split(procStat, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 8 && f[0] == "cpu":
			for _, v := range f[1:8] {
				total += parseUint(v)
			}
		case len(f) > 0 && strings.HasPrefix(f[0], "cpu"):
			cpus++
		}
	}
	return total * (1e9 / clockTicks), cpus
}

// cgroupCPUs is the CPU quota in whole CPUs (rounded up), 0 when there is none.
func cgroupCPUs(cg *guestCgroup) int {
	var quota, period uint64
	if q, ok := cg.read("cpu", "cpu.cfs_quota_us"); ok && !strings.HasPrefix(strings.TrimSpace(q), "-") {
		p, _ := cg.read("cpu", "cpu.cfs_period_us")
		quota, period = parseUint(q), parseUint(p)
	} else if v, ok := cg.read("", "cpu.max"); ok {
		if f := strings.Fields(v); len(f) == 2 && f[0] != "max" {
			quota, period = parseUint(f[0]), parseUint(f[1])
		}
	}
	if quota == 0 || period == 0 {
		return 0
	}
	return int((quota + period - 1) / period)
}

// blkioV1 reads blkio.throttle.io_service_bytes and io_serviced ("8:0 Read 4096" lines).
func blkioV1(bytes, ios string) []wire.BlkioStat {
	type key struct {
		dev, op string
	}
	counts := map[key]uint64{}
	for _, line := range strings.Split(ios, "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			counts[key{f[0], f[1]}] = parseUint(f[2])
		}
	}
	var out []wire.BlkioStat
	for _, line := range strings.Split(bytes, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		major, minor, ok := parseDevice(f[0])
		if !ok {
			continue
		}
		out = append(out, wire.BlkioStat{Major: major, Minor: minor, Op: f[1], Bytes: parseUint(f[2]),
			IOs: counts[key{f[0], f[1]}]})
	}
	return out
}

// ioStatV2 reads io.stat ("8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0" lines).
func ioStatV2(v string) []wire.BlkioStat {
	var out []wire.BlkioStat
	for _, line := range strings.Split(v, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		major, minor, ok := parseDevice(f[0])
		if !ok {
			continue
		}
		kv := map[string]uint64{}
		for _, p := range f[1:] {
			if k, val, ok := strings.Cut(p, "="); ok {
				kv[k] = parseUint(val)
			}
		}
		for _, op := range []struct{ name, bytes, ios string }{
			{"Read", "rbytes", "rios"}, {"Write", "wbytes", "wios"}, {"Discard", "dbytes", "dios"},
		} {
			out = append(out, wire.BlkioStat{Major: major, Minor: minor, Op: op.name, Bytes: kv[op.bytes], IOs: kv[op.ios]})
		}
	}
	return out
}

// diskStats reads /proc/diskstats for the machine's disks (not their partitions' duplicates: whole devices
// have minor numbers the kernel lists with sectors read).
func diskStats(v string) []wire.BlkioStat {
	var out []wire.BlkioStat
	for _, line := range strings.Split(v, "\n") {
		f := strings.Fields(line)
		if len(f) < 14 || strings.HasPrefix(f[2], "loop") || strings.HasPrefix(f[2], "ram") {
			continue
		}
		major, minor := parseUint(f[0]), parseUint(f[1])
		out = append(out,
			wire.BlkioStat{Major: major, Minor: minor, Op: "Read", Bytes: parseUint(f[5]) * 512, IOs: parseUint(f[3])},
			wire.BlkioStat{Major: major, Minor: minor, Op: "Write", Bytes: parseUint(f[9]) * 512, IOs: parseUint(f[7])})
	}
	return out
}

// netDev reads /proc/net/dev: the counters of the guest's interfaces, loopback left out as Docker does.
func netDev(v string) map[string]wire.NetStats {
	out := map[string]wire.NetStats{}
	for _, line := range strings.Split(v, "\n") {
		name, counters, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		f := strings.Fields(counters)
		if !ok || name == "lo" || len(f) < 16 {
			continue
		}
		out[name] = wire.NetStats{
			RxBytes: parseUint(f[0]), RxPackets: parseUint(f[1]), RxErrors: parseUint(f[2]), RxDropped: parseUint(f[3]),
			TxBytes: parseUint(f[8]), TxPackets: parseUint(f[9]), TxErrors: parseUint(f[10]), TxDropped: parseUint(f[11]),
		}
	}
	return out
}

// processesRSS sums the resident memory of the guest's processes, where no memory cgroup counts it.
func processesRSS() uint64 {
	var total uint64
	for _, pid := range processIDs() {
		kv := keyValues(readProc("/proc/"+strconv.Itoa(pid)+"/status"), 1024)
		total += kv["VmRSS"]
	}
	return total
}

// keyValues reads "key value" or "key: value [kB]" lines, scaling each value by unit.
func keyValues(v string, unit uint64) map[string]uint64 {
	out := map[string]uint64{}
	for _, line := range strings.Split(v, "\n") {
		f := strings.Fields(strings.Replace(line, ":", " ", 1))
		if len(f) >= 2 {
			out[f[0]] = parseUint(f[1]) * unit
		}
	}
	return out
}

func parseDevice(s string) (uint64, uint64, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, false
	}
	return parseUint(a), parseUint(b), true
}

func parseUint(s string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	return n
}

func readProc(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// processIDs lists the guest's processes, the tether (PID 1) included.
func processIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}
