package machine

import "fmt"

// Version prints vice-machine's version, as `vic-machine version` did.
func (m *Machine) Version() {
	if m.Build.Commit != "" {
		fmt.Fprintf(m.Out, "vice-machine version %s (commit %s)\n", m.Build.Version, m.Build.Commit)
		return
	}
	fmt.Fprintf(m.Out, "vice-machine version %s\n", m.Build.Version)
}
