package dockerapi

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/core/internal/dockermsg"
)

// The API versions served: requests without a /vN.NN prefix get DefaultVersion.
const (
	DefaultVersion = engine.MaxAPIVersion
	MinVersion     = engine.MinAPIVersion
)

// versionPrefix is Docker's "/v{version:[0-9.]+}" route prefix.
var versionPrefix = regexp.MustCompile(`^/v([0-9.]+)(/.*)$`)

// splitVersion returns the API version a path names ("" when none) and the path without it.
func splitVersion(path string) (version, rest string) {
	if m := versionPrefix.FindStringSubmatch(path); m != nil {
		return m[1], m[2]
	}
	return "", path
}

// checkVersion refuses versions outside MinVersion..DefaultVersion with Docker's own texts.
func checkVersion(v string) error {
	switch {
	case versionLess(v, MinVersion):
		return dockermsg.VersionTooOld.Err(v, MinVersion)
	case versionLess(DefaultVersion, v):
		return dockermsg.VersionTooNew.Err(v, DefaultVersion)
	}
	return nil
}

// versionLess compares dotted versions numerically, part by part, as Docker's versions package does.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

type versionKey struct{}

// APIVersion is the API version of the request ctx belongs to.
func APIVersion(ctx context.Context) string {
	if v, ok := ctx.Value(versionKey{}).(string); ok {
		return v
	}
	return DefaultVersion
}

func withAPIVersion(ctx context.Context, v string) context.Context {
	return context.WithValue(ctx, versionKey{}, v)
}
