package sdk

import "os"

// TargetEnv names the environment variable a vSphere backend plugin reads its target from (the SDK URL
// with credentials) when no --target is given. The endpoint appliance registers its plugin this way, so the
// password stays out of the command line, which every local user can read.
const TargetEnv = "VICE_TARGET"

// TakeTarget returns the target from TargetEnv and removes it from the environment, so processes the plugin
// starts do not inherit it.
func TakeTarget() string {
	v := os.Getenv(TargetEnv)
	os.Unsetenv(TargetEnv)
	return v
}
