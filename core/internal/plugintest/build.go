package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

const module = "github.com/vice-engine/vice"

// binaries are the executables the harness builds once per test process.
type binaries struct {
	dir          string // holds them; removed by Main
	plugin       string // vice-plugin-vcsim
	bootstrapISO string // the tether's boot image, as `make bootstrap-iso` makes it
}

var (
	buildOnce sync.Once
	built     binaries
	buildErr  error
)

// build compiles vice-plugin-vcsim, the static tether and bootstrap.iso, once.
func build() (binaries, error) {
	buildOnce.Do(func() {
		built.dir, buildErr = os.MkdirTemp("", dirPrefix+"bin-")
		if buildErr != nil {
			return
		}
		if buildErr = os.WriteFile(filepath.Join(built.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600); buildErr != nil {
			return
		}
		built.plugin = filepath.Join(built.dir, "vice-plugin-vcsim")
		tether := filepath.Join(built.dir, "tether")
		built.bootstrapISO = filepath.Join(built.dir, "bootstrap.iso")
		steps := []struct {
			env  []string
			args []string
		}{
			{nil, []string{"build", "-o", built.plugin, module + "/plugins/vcsim/cmd/vice-plugin-vcsim"}},
			{[]string{"CGO_ENABLED=0"}, []string{"build", "-o", tether, module + "/tether/cmd/tether"}},
			{nil, []string{"run", module + "/installer/cmd/vice-iso", "-tether", tether, "-o", built.bootstrapISO,
				"-version", "plugintest"}},
		}
		for _, s := range steps {
			cmd := exec.Command("go", s.args...)
			cmd.Env = append(os.Environ(), s.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(s.args, " "), err, out)
				return
			}
		}
	})
	return built, buildErr
}
