// Package plugintest runs the real vcsim backend plugin for core's unit tests: vice-plugin-vcsim, built from
// this module with `go build`, with its embedded simulator and hypervisor emulator (containerVMs boot real
// guests), launched through core/pluginhost and the go-plugin transport the way vice-engine launches it.
//
// A test package starts one plugin, shared by its tests, from its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }
//
// and each test takes it with Shared, which also empties the backend (containers, layers, kv records) when the
// test ends, so every test starts from an empty VCH. Stopping the plugin stops its guests; the harness then
// kills any guest the plugin left behind and removes every directory it made.
package plugintest
