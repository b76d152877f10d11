package plugintest

import "github.com/vice-engine/vice/core/engine"

// PluginStatus is the plugin host's status as vice-engine hands it to the engine.
func (p *Plugin) PluginStatus() []engine.PluginInfo {
	st := p.Host.Status()
	out := make([]engine.PluginInfo, len(st))
	for i, s := range st {
		out[i] = engine.PluginInfo{Name: s.Name, Path: s.Path, APIVersion: s.APIVersion, Running: s.Running,
			PID: s.PID, Restarts: s.Restarts}
	}
	return out
}
