package dockerapi

import (
	"net/http"

	"github.com/vice-engine/vice/core/containers"
)

// Docker's stream media types (API 1.42 and later name them).
const (
	rawStream         = "application/vnd.docker.raw-stream"
	multiplexedStream = "application/vnd.docker.multiplexed-stream"
)

func streamType(tty bool) string {
	if tty {
		return rawStream
	}
	return multiplexedStream
}

// containerLogs is GET /containers/{id}/logs?follow=&stdout=&stderr=&since=&until=&timestamps=&tail=.
func (a *API) containerLogs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	since, err := eventTime("since", q.Get("since"))
	if err != nil {
		return err
	}
	until, err := eventTime("until", q.Get("until"))
	if err != nil {
		return err
	}
	logs, err := a.eng.Containers().Logs(r.Context(), r.PathValue("id"), containers.LogsOptions{
		Follow: boolValue(q.Get("follow")), Stdout: boolValue(q.Get("stdout")), Stderr: boolValue(q.Get("stderr")),
		Timestamps: boolValue(q.Get("timestamps")), Since: since, Until: until, Tail: q.Get("tail"),
	})
	if err != nil {
		return err
	}
	defer logs.Close()
	w.Header().Set("Content-Type", streamType(logs.Tty))
	w.WriteHeader(http.StatusOK)
	var flushEach func()
	if boolValue(q.Get("follow")) {
		// A follower sees the head at once and each record as it comes; the log as it is now goes out in as
		// few writes as the server's buffer allows.
		flush(w)
		flushEach = func() { flush(w) }
	}
	if err := logs.WriteTo(w, flushEach); err != nil {
		a.log.Debug("logs cut short", "container", r.PathValue("id"), "err", err)
	}
	return nil
}
