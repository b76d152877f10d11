package appliance

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
)

// portal is the admin portal (VIC's vicadmin): the appliance's status as a page and as JSON, and its logs.
// It serves HTTPS with the server certificate (self-signed with TLS "off"), and only to the clients auth
// lets in: vSphere users, and with TLS "verify" holders of a client certificate signed by the CA.
type portal struct {
	status  *reporter
	logDir  string
	tls     *serverTLS
	auth    *portalAuth
	log     *slog.Logger
	started time.Time
}

func (p *portal) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.page)
	mux.HandleFunc("GET /api/status", p.apiStatus)
	mux.HandleFunc("GET /logs/{$}", p.logIndex)
	mux.HandleFunc("GET /logs/{name}", p.logFile)
	return p.auth.wrap(mux)
}

// serve serves HTTPS on l until ctx ends.
func (p *portal) serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           p.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	defer stop()
	err := srv.Serve(tls.NewListener(l, p.tls.config()))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (p *portal) apiStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(p.status.Shown())
}

func (p *portal) page(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	data := struct {
		Status vchwire.ApplianceStatus
		Logs   []string
		Up     time.Duration
	}{p.status.Shown(), listLogs(p.logDir), time.Since(p.started).Round(time.Second)}
	if err := pageTemplate.Execute(w, data); err != nil {
		p.log.Debug("status page", "err", err)
	}
}

func (p *portal) logIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = logsTemplate.Execute(w, listLogs(p.logDir))
}

func (p *portal) logFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validLogName.MatchString(name) {
		http.NotFound(w, r)
		return
	}
	b, err := readLog(filepath.Join(p.logDir, name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>VCH {{.Status.State}}</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.2em 1em;text-align:left}.failed{color:#b00}</style>
</head><body>
<h1>Virtual Container Host</h1>
<table>
<tr><th>State</th><td class="{{.Status.State}}">{{.Status.State}}</td></tr>
{{with .Status.Error}}<tr><th>Error</th><td class="failed">{{.}}</td></tr>{{end}}
<tr><th>Version</th><td>{{.Status.Version}}</td></tr>
<tr><th>Address</th><td>{{.Status.IP}}</td></tr>
<tr><th>DOCKER_HOST</th><td>{{.Status.DockerHost}}</td></tr>
<tr><th>Up</th><td>{{.Up}}</td></tr>
</table>
<h2>Services</h2>
<table><tr><th>Name</th><th>State</th><th>PID</th><th>Restarts</th><th>Error</th></tr>
{{range .Status.Services}}<tr><td>{{.Name}}</td><td class="{{.State}}">{{.State}}</td><td>{{if .Pid}}{{.Pid}}{{end}}</td><td>{{.Restarts}}</td><td>{{.Error}}</td></tr>
{{end}}</table>
<h2>Logs</h2>
<ul>{{range .Logs}}<li><a href="/logs/{{.}}">{{.}}</a></li>{{end}}</ul>
<p><a href="/api/status">status as JSON</a></p>
</body></html>
`))

var logsTemplate = template.Must(template.New("logs").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Logs</title></head><body>
<ul>{{range .}}<li><a href="/logs/{{.}}">{{.}}</a></li>{{end}}</ul>
</body></html>
`))
