package pluginhost

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// slogAdapter lets go-plugin log through the endpoint's slog logger, so a plugin's log lines (which it
// writes as hclog-shaped JSON) come out at their own level among the endpoint's.
type slogAdapter struct {
	l    *slog.Logger
	name string
	args []any
}

var _ hclog.Logger = (*slogAdapter)(nil)

func newHCLog(l *slog.Logger, name string) hclog.Logger { return &slogAdapter{l: l, name: name} }

// toSlog maps levels; a plugin's informational lines become debug lines, so the endpoint stays quiet by
// default and speaks up for warnings and errors only.
func toSlog(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace, hclog.Debug, hclog.Info:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelDebug
	}
}

func (a *slogAdapter) Log(level hclog.Level, msg string, args ...any) {
	a.l.Log(context.Background(), toSlog(level), msg, append(append([]any{"plugin", a.name}, a.args...), args...)...)
}
func (a *slogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *slogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *slogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *slogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *slogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }
func (a *slogAdapter) enabled(l slog.Level) bool {
	return a.l.Enabled(context.Background(), l)
}
func (a *slogAdapter) IsTrace() bool        { return a.enabled(slog.LevelDebug) }
func (a *slogAdapter) IsDebug() bool        { return a.enabled(slog.LevelDebug) }
func (a *slogAdapter) IsInfo() bool         { return a.enabled(slog.LevelInfo) }
func (a *slogAdapter) IsWarn() bool         { return a.enabled(slog.LevelWarn) }
func (a *slogAdapter) IsError() bool        { return a.enabled(slog.LevelError) }
func (a *slogAdapter) ImpliedArgs() []any   { return a.args }
func (a *slogAdapter) Name() string         { return a.name }
func (a *slogAdapter) SetLevel(hclog.Level) {}
func (a *slogAdapter) GetLevel() hclog.Level {
	if a.IsDebug() {
		return hclog.Debug
	}
	return hclog.Info
}
func (a *slogAdapter) With(args ...any) hclog.Logger {
	return &slogAdapter{l: a.l, name: a.name, args: append(append([]any{}, a.args...), args...)}
}
func (a *slogAdapter) Named(name string) hclog.Logger {
	return &slogAdapter{l: a.l, name: a.name + "." + name, args: a.args}
}
func (a *slogAdapter) ResetNamed(name string) hclog.Logger {
	return &slogAdapter{l: a.l, name: name, args: a.args}
}
func (a *slogAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(a.l.Handler(), slog.LevelInfo)
}
func (a *slogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return a.StandardLogger(nil).Writer()
}
