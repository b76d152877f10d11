package imagec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Repo is a push session with one repository: its requests carry the credentials, and the registry's
// token when it issues them, scoped to push and pull the repository and pull the mount sources.
type Repo struct {
	repo   name.Repository
	base   *url.URL // scheme://registry/v2/<path>/
	client *http.Client
}

// PushSession opens a push session with repo; mountFrom names the repositories of the same registry that
// blobs may be mounted from.
func (c *Client) PushSession(ctx context.Context, repo name.Repository, auth registry.AuthConfig, mountFrom ...name.Repository) (*Repo, error) {
	if err := c.checkRegistry(repo.RegistryStr()); err != nil {
		return nil, err
	}
	reg, err := name.NewRegistry(repo.RegistryStr(), c.nameOptions(repo.RegistryStr())...)
	if err != nil {
		return nil, invalidReference(repo.String(), err)
	}
	scopes := []string{repo.Scope(transport.PushScope)}
	for _, m := range mountFrom {
		scopes = append(scopes, m.Scope(transport.PullScope))
	}
	rt, err := transport.NewWithContext(ctx, reg, authenticator(auth), c.rt, scopes)
	if err != nil {
		return nil, pushError(err)
	}
	base, err := url.Parse(reg.Scheme() + "://" + reg.RegistryStr() + "/v2/" + repo.RepositoryStr() + "/")
	if err != nil {
		return nil, errdefs.Classed(err, errdefs.ErrInvalid)
	}
	return &Repo{repo: repo, base: base, client: &http.Client{Transport: rt}}, nil
}

// HasBlob reports whether the repository has the blob digest ("sha256:..."), and its size.
func (r *Repo) HasBlob(ctx context.Context, digest string) (size int64, exists bool, err error) {
	resp, err := r.do(ctx, http.MethodHead, r.base.JoinPath("blobs", digest), nil, nil, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return 0, false, err
	}
	return resp.ContentLength, resp.StatusCode == http.StatusOK, nil
}

// MountBlob asks the registry to link the blob digest of repository from into this one, without sending
// it. A registry that cannot (the blob is not there, or it does not mount) answers with an upload session,
// which is cancelled, and mounted is false.
func (r *Repo) MountBlob(ctx context.Context, digest string, from name.Repository) (mounted bool, err error) {
	u := r.base.JoinPath("blobs", "uploads") // a trailing slash, as registries route it
	u.Path += "/"
	u.RawQuery = url.Values{"mount": {digest}, "from": {from.RepositoryStr()}}.Encode()
	resp, err := r.do(ctx, http.MethodPost, u, nil, nil, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return false, err
	}
	if resp.StatusCode == http.StatusCreated {
		return true, nil
	}
	if loc, err := r.location(resp); err == nil {
		_, _ = r.do(ctx, http.MethodDelete, loc, nil, nil, http.StatusNoContent, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusOK, http.StatusAccepted)
	}
	return false, nil
}

// UploadBlob streams body into the repository as one blob and returns its digest and size: the body goes
// out in one PATCH as it is read (its digest is known only at its end), and the upload is committed with
// the digest. A failed read of body fails the upload, which the registry then never commits.
func (r *Repo) UploadBlob(ctx context.Context, body io.Reader) (digest string, size int64, err error) {
	u := r.base.JoinPath("blobs", "uploads")
	u.Path += "/"
	resp, err := r.do(ctx, http.MethodPost, u, nil, nil, http.StatusAccepted)
	if err != nil {
		return "", 0, err
	}
	loc, err := r.location(resp)
	if err != nil {
		return "", 0, err
	}
	h := &hashingReader{r: body, h: sha256.New()}
	resp, err = r.do(ctx, http.MethodPatch, loc, h, map[string]string{"Content-Type": "application/octet-stream"},
		http.StatusAccepted, http.StatusNoContent, http.StatusCreated)
	if err != nil {
		if h.err != nil {
			return "", 0, h.err
		}
		return "", 0, err
	}
	if loc, err = r.location(resp); err != nil {
		return "", 0, err
	}
	digest = "sha256:" + hex.EncodeToString(h.h.Sum(nil))
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	if _, err := r.do(ctx, http.MethodPut, loc, http.NoBody, nil, http.StatusCreated, http.StatusNoContent, http.StatusAccepted); err != nil {
		return "", 0, err
	}
	return digest, h.n, nil
}

// PutManifest stores a manifest under tag and returns its digest.
func (r *Repo) PutManifest(ctx context.Context, tag, mediaType string, manifest []byte) (string, error) {
	if _, err := r.do(ctx, http.MethodPut, r.base.JoinPath("manifests", tag), bytes.NewReader(manifest),
		map[string]string{"Content-Type": mediaType}, http.StatusCreated, http.StatusOK, http.StatusAccepted); err != nil {
		return "", err
	}
	sum := sha256.Sum256(manifest)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// do sends one request and checks that its status is one of ok; the body is drained and closed.
func (r *Repo) do(ctx context.Context, method string, u *url.URL, body io.Reader, header map[string]string, ok ...int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, errdefs.Classed(err, errdefs.ErrInvalid)
	}
	if body == nil || body == http.NoBody {
		req.ContentLength = 0
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, pushError(err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, ok...); err != nil {
		return nil, pushError(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp, nil
}

// location is where an upload goes on: the response's Location, resolved against its request.
func (r *Repo) location(resp *http.Response) (*url.URL, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("registry %s: an upload answer without a Location: %w", r.repo.RegistryStr(), errdefs.ErrUnavailable)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("registry %s: upload location %q: %v: %w", r.repo.RegistryStr(), loc, err, errdefs.ErrUnavailable)
	}
	return u, nil
}

// pushError gives a registry's answer to a push Docker's words ("unauthorized: authentication required",
// "denied: requested access to the resource is denied") and its class.
func pushError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var terr *transport.Error
	if !errors.As(err, &terr) {
		if errdefs.Sentinel(err) != errdefs.ErrSystem {
			return err
		}
		return fmt.Errorf("%v: %w", err, errdefs.ErrUnavailable)
	}
	class, msg := errdefs.ErrUnavailable, diagnostics(terr)
	switch terr.StatusCode {
	case http.StatusUnauthorized:
		class = errdefs.ErrUnauthorized
		if len(terr.Errors) == 0 { // an answer without a body (to a HEAD, say), as dockerd words it
			msg = "unauthorized: authentication required"
		}
	case http.StatusForbidden:
		class = errdefs.ErrForbidden
		if len(terr.Errors) == 0 {
			msg = "denied: requested access to the resource is denied"
		}
	case http.StatusNotFound:
		class = errdefs.ErrNotFound
	case http.StatusBadRequest:
		class = errdefs.ErrInvalid
	}
	return fmt.Errorf("%s: %w", msg, class)
}

// hashingReader hashes and counts what is read through it, and keeps its source's failure.
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	if err != nil && err != io.EOF {
		h.err = err
	}
	return n, err
}
