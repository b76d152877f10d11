package dockermsg

import (
	"fmt"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Message is one of dockerd's error texts (a fmt format) and the class dockerd gives it.
type Message struct {
	Format string
	Class  error
}

// Err is the message with args, wrapped in its class. The class's name is left out of what the Docker API
// answers (dockerapi's message), so the client sees dockerd's text alone.
func (m Message) Err(args ...any) error {
	return fmt.Errorf(m.Format+": %w", append(args, m.Class)...)
}

// dockerd's messages (moby's daemon and API router, Docker 28), by the object they are about.
var (
	// Containers.
	NoSuchContainer   = Message{"No such container: %s", errdefs.ErrNotFound}
	AmbiguousID       = Message{"multiple IDs found with provided prefix: %s", errdefs.ErrInvalid}
	InvalidName       = Message{"Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", errdefs.ErrInvalid}
	NameInUse         = Message{`Conflict. The container name "/%s" is already in use by container "%s". You have to remove (or rename) that container to be able to reuse that name.`, errdefs.ErrConflict}
	RenameEmpty       = Message{"Neither old nor new names may be empty", errdefs.ErrInvalid}
	RenameSame        = Message{"Renaming a container with the same name as its current name", errdefs.ErrInvalid}
	NoCommand         = Message{"no command specified", errdefs.ErrInvalid}
	RemoveRunning     = Message{`cannot remove container "/%s": container is running: stop the container before removing or force remove`, errdefs.ErrConflict}
	NotRunning        = Message{"container %s is not running", errdefs.ErrConflict}
	CannotKill        = Message{"cannot kill container: %s: container %s is not running", errdefs.ErrConflict}
	AlreadyStarted    = Message{"container %s is already running", errdefs.ErrNotModified}
	AlreadyStopped    = Message{"container %s is not running", errdefs.ErrNotModified}
	InvalidSignal     = Message{"Invalid signal: %s", errdefs.ErrInvalid}
	StartBodyRemoved  = Message{"starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24", errdefs.ErrInvalid}
	InvalidWaitCond   = Message{"invalid condition: %q", errdefs.ErrInvalid}
	DefaultLinkRemove = Message{"Conflict, cannot remove the default link name of the container", errdefs.ErrSystem}
	FileNotFound      = Message{"Could not find the file %s in container %s", errdefs.ErrNotFound}
	RootfsReadOnly    = Message{"container rootfs is marked read-only", errdefs.ErrInvalid}
	VolumeReadOnly    = Message{"mounted volume is marked read-only", errdefs.ErrInvalid}
	CommitDead        = Message{"You cannot commit container %s which is Dead", errdefs.ErrConflict}
	CommitRemoving    = Message{"You cannot commit container %s which is being removed", errdefs.ErrConflict}

	// Pause, exec, restart policies and health checks.
	AlreadyPaused     = Message{"Container %s is already paused", errdefs.ErrConflict}
	NotPaused         = Message{"Container %s is not paused", errdefs.ErrConflict}
	StartPaused       = Message{"cannot start a paused container, try unpause instead", errdefs.ErrConflict}
	Restarting        = Message{"Container %s is restarting, wait until the container is running", errdefs.ErrConflict}
	ExecPaused        = Message{"Container %s is paused, unpause the container before exec", errdefs.ErrConflict}
	ExecRestarting    = Restarting
	NoExecCommand     = Message{"No exec command specified", errdefs.ErrInvalid}
	NoSuchExec        = Message{"No such exec instance: %s", errdefs.ErrNotFound}
	ExecRan           = Message{"Error: Exec command %s has already run", errdefs.ErrConflict}
	ExecRunning       = Message{"Error: Exec command %s is already running", errdefs.ErrConflict}
	RestartAutoRemove = Message{"can't create 'AutoRemove' container with restart policy", errdefs.ErrInvalid}
	UpdateAutoRemove  = Message{"Restart policy cannot be updated because AutoRemove is enabled for the container", errdefs.ErrInvalid}
	InvalidRestart    = Message{"invalid restart policy '%s'", errdefs.ErrInvalid}
	RetryNotOnFailure = Message{"invalid restart policy: maximum retry count can only be used with 'on-failure'", errdefs.ErrInvalid}
	NegativeRetry     = Message{"invalid restart policy: maximum retry count cannot be negative", errdefs.ErrInvalid}
	MinimumMemory     = Message{"Minimum memory limit allowed is 6MB", errdefs.ErrInvalid}
	// TopPaused is vice's: a paused containerVM is suspended, and its guest lists nothing until it resumes.
	TopPaused = Message{"Container %s is paused, unpause the container to list its processes", errdefs.ErrConflict}

	// Images.
	NoSuchImage = Message{"No such image: %s", errdefs.ErrNotFound}

	// The API itself.
	PageNotFound    = Message{"page not found", errdefs.ErrNotFound}
	VersionTooOld   = Message{"client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", errdefs.ErrInvalid}
	VersionTooNew   = Message{"client version %s is too new. Maximum supported API version is %s", errdefs.ErrInvalid}
	InvalidFilter   = Message{"invalid filter '%s'", errdefs.ErrInvalid}
	InvalidFilterKV = Message{"invalid filter '%s=%s'", errdefs.ErrInvalid}

	// Swarm, as a node that is in none answers.
	NotSwarmManager = Message{`This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.`, errdefs.ErrUnavailable}
	NotInSwarm      = Message{"This node is not part of a swarm", errdefs.ErrUnavailable}
)
