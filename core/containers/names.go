package containers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
	"strings"

	"github.com/vice-engine/vice/core/internal/dockermsg"
)

// validName is Docker's rule for container names (the leading slash is optional).
var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// A complete container ID, and the hex prefix of one.
var (
	fullID   = regexp.MustCompile(`^[a-f0-9]{64}$`)
	idPrefix = regexp.MustCompile(`^[a-f0-9]{1,63}$`)
)

// newID is a container ID as Docker makes them: 32 random bytes in hex, never all digits (so a short ID is
// never mistaken for a number).
func newID() string {
	for {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // crypto/rand never fails on Linux
		id := hex.EncodeToString(b)
		if strings.ContainsAny(id[:12], "abcdef") {
			return id
		}
	}
}

// checkName validates a name given by the client and returns it without its leading slash.
func checkName(name string) (string, error) {
	if !validName.MatchString(name) {
		return "", dockermsg.InvalidName.Err(name)
	}
	return strings.TrimPrefix(name, "/"), nil
}

// nameConflict is Docker's text for a name in use.
func nameConflict(name, id string) error {
	return dockermsg.NameInUse.Err(name, id)
}

// Word lists of generated names: adjective_surname, as Docker makes them, from vice's own lists.
var (
	adjectives = []string{"agile", "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring",
		"eager", "fervent", "gentle", "happy", "humble", "jolly", "keen", "lively", "lucid", "mellow", "merry",
		"nimble", "noble", "patient", "plucky", "quiet", "quirky", "rapid", "serene", "sharp", "silent", "steady",
		"sunny", "swift", "tender", "tidy", "upbeat", "vivid", "witty", "zealous"}
	surnames = []string{"ada", "babbage", "boole", "cerf", "church", "codd", "dijkstra", "engelbart", "floyd",
		"hamming", "hopper", "kahn", "knuth", "lamport", "lovelace", "mccarthy", "minsky", "neumann", "perlman",
		"ritchie", "shannon", "sutherland", "thompson", "torvalds", "turing", "wirth", "wozniak", "yao", "zuse"}
)

// generateName picks a name that taken does not report; after a few collisions a number is appended.
func generateName(taken func(string) bool) string {
	pick := func(list []string) string {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
		return list[n.Int64()]
	}
	for i := 0; ; i++ {
		name := pick(adjectives) + "_" + pick(surnames)
		if i >= 10 {
			name = fmt.Sprintf("%s%d", name, i)
		}
		if !taken(name) {
			return name
		}
	}
}

// shortID is Docker's 12-character form of an ID.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
