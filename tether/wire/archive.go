package wire

import "time"

// A running container's filesystem is read and written by its tether, from inside the guest, so what the VCH
// gets is what the container's processes see (their volumes included). Each operation is one ChannelArchive
// whose extra data is an ArchiveRequest (JSON). The tether's first channel data is one ArchiveReply (JSON and
// "\n"); then, by operation:
//
//   - ArchiveStat: nothing; the tether closes the channel.
//   - ArchiveRead, ArchiveExport (when the reply has no error): the tar, to the end of the channel's data.
//     The tether then sends RequestExitStatus: 0 when the tar is whole, 1 when it broke off, the failure's
//     message first as extended data (ExtendedStderr).
//   - ArchiveWrite: the VCH sends the tar as channel data, then CloseWrite. The tether sends its reply once
//     the tar is extracted (and the rest of the data drained), or at the first failure, then closes the
//     channel: a VCH still sending sees the channel close, and reads the reply.
const ChannelArchive = "archive@vice"

// Archive operations.
const (
	// ArchiveStat describes what is at Path; its last element is followed only when Path ends in "/" or "/.".
	ArchiveStat = "stat"
	// ArchiveRead sends a tar of what is at Path, named after its last element (Docker's archive rules).
	ArchiveRead = "read"
	// ArchiveWrite extracts a tar into the directory Path (resolved fully).
	ArchiveWrite = "write"
	// ArchiveExport sends the container's root filesystem as a tar, without volumes or pseudo-filesystems.
	ArchiveExport = "export"
)

// ArchiveRequest is a ChannelArchive's extra data.
type ArchiveRequest struct {
	Op   string `json:"op"`
	Path string `json:"path,omitempty"`
	// NoOverwriteDirNonDir (write) refuses to replace a directory with a non-directory, or the reverse.
	NoOverwriteDirNonDir bool `json:"noOverwriteDirNonDir,omitempty"`
	// CopyUIDGID (write) gives the entries the uid and gid of the container's user instead of the tar's.
	CopyUIDGID bool `json:"copyUIDGID,omitempty"`
}

// ArchiveReply is the tether's answer to an ArchiveRequest.
type ArchiveReply struct {
	Stat  *PathStat     `json:"stat,omitempty"`
	Error *ArchiveError `json:"error,omitempty"`
}

// PathStat is what is at a path (ArchiveStat).
type PathStat struct {
	Name       string    `json:"name"`
	Size       int64     `json:"size"`
	Mode       uint32    `json:"mode"` // st_mode, the file type bits included
	ModTime    time.Time `json:"mtime"`
	LinkTarget string    `json:"linkTarget,omitempty"`
}

// ArchiveError is why an operation failed.
type ArchiveError struct {
	Kind    string `json:"kind"` // one of the Archive* kinds below
	Message string `json:"message"`
}

// Kinds of ArchiveError.
const (
	// ArchiveNotFound: the path does not exist.
	ArchiveNotFound = "not_found"
	// ArchiveInvalid: the request or the tar is wrong (not a directory, an entry leaving the extraction point,
	// the overwrite rule broken, a malformed tar).
	ArchiveInvalid = "invalid"
	// ArchiveFailed: anything else.
	ArchiveFailed = "failed"
)
