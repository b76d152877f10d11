package wire

import "time"

// TopRequest is RequestTop's payload: ps's arguments, split ("-ef" when empty).
type TopRequest struct {
	Args []string `json:"args,omitempty"`
}

// ProcessTable is RequestTop's reply: the guest's processes (the tether itself left out) in the columns ps
// prints for the arguments.
type ProcessTable struct {
	Titles    []string   `json:"titles"`
	Processes [][]string `json:"processes"`
}

// Stats is RequestStats's reply: one sample of the container's usage, taken by the tether from the guest's
// cgroup when it runs in one (the hypervisor emulator's), else from the whole machine (/proc of a real VM).
type Stats struct {
	Read     time.Time           `json:"read"`
	CPU      CPUStats            `json:"cpu"`
	Memory   MemoryStats         `json:"memory"`
	Pids     PidsStats           `json:"pids"`
	Networks map[string]NetStats `json:"networks,omitempty"`
	Blkio    []BlkioStat         `json:"blkio,omitempty"`
}

// CPUStats are cumulative nanoseconds.
type CPUStats struct {
	Total  uint64   `json:"total"`
	PerCPU []uint64 `json:"perCpu,omitempty"`
	Kernel uint64   `json:"kernel"`
	User   uint64   `json:"user"`
	// System is the whole machine's CPU time (/proc/stat), the base of a usage rate.
	System uint64 `json:"system"`
	Online int    `json:"online"`
}

// MemoryStats are bytes; Limit is the machine's memory (the VM's).
type MemoryStats struct {
	Usage    uint64            `json:"usage"`
	MaxUsage uint64            `json:"maxUsage,omitempty"`
	Limit    uint64            `json:"limit"`
	Stats    map[string]uint64 `json:"stats,omitempty"`
}

// PidsStats counts the guest's processes; Limit 0 is none.
type PidsStats struct {
	Current uint64 `json:"current"`
	Limit   uint64 `json:"limit,omitempty"`
}

// NetStats are one interface's counters.
type NetStats struct {
	RxBytes   uint64 `json:"rxBytes"`
	RxPackets uint64 `json:"rxPackets"`
	RxErrors  uint64 `json:"rxErrors"`
	RxDropped uint64 `json:"rxDropped"`
	TxBytes   uint64 `json:"txBytes"`
	TxPackets uint64 `json:"txPackets"`
	TxErrors  uint64 `json:"txErrors"`
	TxDropped uint64 `json:"txDropped"`
}

// BlkioStat is one block device's count for one operation (Read, Write, Sync, Async, Discard, Total).
type BlkioStat struct {
	Major uint64 `json:"major"`
	Minor uint64 `json:"minor"`
	Op    string `json:"op"`
	Bytes uint64 `json:"bytes"`
	IOs   uint64 `json:"ios"`
}
