package dockerapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/containers"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// pathStatHeader carries a path's stat, base64-encoded JSON, on HEAD and GET /containers/{id}/archive.
const pathStatHeader = "X-Docker-Container-Path-Stat"

// archiveRoutes are docker cp's, diff's, export's and commit's.
func (a *API) archiveRoutes() []route {
	return []route{
		newRoute(http.MethodHead, "/containers/{id:.*}/archive", a.statContainerPath),
		newRoute(http.MethodGet, "/containers/{id:.*}/archive", a.getContainerArchive),
		newRoute(http.MethodPut, "/containers/{id:.*}/archive", a.putContainerArchive),
		newRoute(http.MethodGet, "/containers/{id:.*}/changes", a.containerChanges),
		newRoute(http.MethodGet, "/containers/{id:.*}/export", a.exportContainer),
		newRoute(http.MethodPost, "/commit", a.commitContainer),
	}
}

// archivePath is the path query of the archive endpoints, required (dockerd's wording, its missing space too).
func archivePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", fmt.Errorf("bad parameter: pathcannot be empty: %w", errdefs.ErrInvalid)
	}
	return p, nil
}

func setPathStat(w http.ResponseWriter, st container.PathStat) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	w.Header().Set(pathStatHeader, base64.StdEncoding.EncodeToString(b))
	return nil
}

// statContainerPath is HEAD /containers/{id}/archive?path=: the stat in the header, no body.
func (a *API) statContainerPath(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	st, err := a.eng.Containers().StatPath(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	if err := setPathStat(w, st); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getContainerArchive is GET /containers/{id}/archive?path=: the stat in the header, the tar as the body.
func (a *API) getContainerArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	rc, st, err := a.eng.Containers().ArchivePath(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := setPathStat(w, st); err != nil {
		return err
	}
	a.streamTar(w, r, rc)
	return nil
}

// putContainerArchive is PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=: the body is
// a tar extracted into the directory path.
func (a *API) putContainerArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	err = a.eng.Containers().ExtractToDir(r.Context(), r.PathValue("id"), p,
		boolValue(q.Get("noOverwriteDirNonDir")), boolValue(q.Get("copyUIDGID")), r.Body)
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// containerChanges is GET /containers/{id}/changes.
func (a *API) containerChanges(w http.ResponseWriter, r *http.Request) error {
	changes, err := a.eng.Containers().Changes(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, changes)
}

// exportContainer is GET /containers/{id}/export: the root filesystem as a tar.
func (a *API) exportContainer(w http.ResponseWriter, r *http.Request) error {
	rc, err := a.eng.Containers().Export(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	defer rc.Close()
	a.streamTar(w, r, rc)
	return nil
}

// streamTar answers 200 with the tar rc. A stream that breaks off aborts the response, so the client sees a
// failure rather than a tar that merely ends early.
func (a *API) streamTar(w http.ResponseWriter, r *http.Request, rc io.Reader) {
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		a.log.Info("tar stream cut short", "method", r.Method, "path", r.URL.Path, "err", err)
		if r.Context().Err() == nil {
			panic(http.ErrAbortHandler)
		}
	}
}

// commitContainer is POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=, with an optional
// config as the body.
func (a *API) commitContainer(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var cfg *container.Config
	if err := DecodeJSON(r, &cfg); err != nil {
		return err
	}
	pause := true
	if v := q.Get("pause"); v != "" {
		pause = boolValue(v)
	}
	id, err := a.eng.Containers().Commit(r.Context(), containers.CommitOptions{
		Container: q.Get("container"), Repo: q.Get("repo"), Tag: q.Get("tag"), Comment: q.Get("comment"),
		Author: q.Get("author"), Pause: pause, Changes: q["changes"], Config: cfg,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, container.CommitResponse{ID: id})
}
