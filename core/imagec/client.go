package imagec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// DefaultPlatform is what a pull picks from a manifest list or index unless told otherwise.
var DefaultPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// Client reaches registries.
type Client struct {
	policy    insecurePolicy
	rt        *policyTransport
	userAgent string
	mirrors   []mirror
	whitelist whitelist

	mirrorURLs   []string // options, checked by New
	caPEMs       [][]byte
	whitelistRaw []string
}

// Option configures a Client.
type Option func(*Client)

// WithUserAgent sets the User-Agent of registry requests.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client that allows plain HTTP (and unverified TLS) for the insecure registries given (host,
// host:port or CIDR), for plain HTTP mirrors and for loopback registries.
func New(insecure []string, opts ...Option) (*Client, error) {
	c := &Client{userAgent: "vice"}
	for _, o := range opts {
		o(c)
	}
	for _, raw := range c.mirrorURLs {
		m, err := parseMirror(raw)
		if err != nil {
			return nil, err
		}
		c.mirrors = append(c.mirrors, m)
		if strings.HasPrefix(m.url, "http://") {
			insecure = append(insecure, m.host)
		}
	}
	p, err := newInsecurePolicy(insecure)
	if err != nil {
		return nil, err
	}
	pool, err := certPool(c.caPEMs)
	if err != nil {
		return nil, err
	}
	if c.whitelist, err = newWhitelist(c.whitelistRaw); err != nil {
		return nil, err
	}
	c.policy, c.rt = p, newPolicyTransport(p, pool)
	return c, nil
}

// Image is a manifest resolved for one platform: its config, exactly as the registry serves it, and its layers.
type Image struct {
	Ref Reference
	// Digest is the digest of the manifest (or index) the reference names: what RepoDigests record.
	Digest string
	// RawConfig is the config blob; its sha256 is the image ID.
	RawConfig []byte
	Config    *v1.ConfigFile
	Layers    []Layer

	opts []remote.Option
	cas  [][]byte // the client's own trusted certificates (PEM)
}

// Layer is one layer of a resolved image.
type Layer struct {
	Digest    v1.Hash // of the blob as the registry stores it
	DiffID    v1.Hash // of the uncompressed tar, from the config
	Size      int64   // of the blob
	MediaType types.MediaType
	repo      name.Repository
}

// ID is the image ID: "sha256:" and the hex sha256 of the config.
func (img *Image) ID() string { return "sha256:" + sha256Hex(img.RawConfig) }

// Open starts downloading a layer's blob. Its last read fails, instead of ending it, when what was read does
// not have the digest (or size) the manifest gives.
func (img *Image) Open(ctx context.Context, l Layer) (io.ReadCloser, error) {
	// Clipped: layers open at once, and an append into shared spare capacity would race.
	blob, err := remote.Layer(l.repo.Digest(l.Digest.String()), append(slices.Clip(img.opts), remote.WithContext(ctx))...)
	if err != nil {
		return nil, translate(err, img.Ref)
	}
	rc, err := blob.Compressed()
	if err != nil {
		return nil, translate(err, img.Ref)
	}
	return rc, nil
}

// BlobSource is what another process needs to download a layer's blob itself: the request Open would send,
// the registry's authorization among its headers, and the TLS trust the registry needs.
type BlobSource struct {
	URL    string
	Header http.Header
	// Insecure says the registry is an insecure one: its certificate is not verified.
	Insecure bool
	// CAs are PEM certificates trusted besides the system's.
	CAs [][]byte
}

// Source resolves a layer's blob for another process to download: it goes through what Open does (the
// registry's ping and token, a mirror) up to the blob's request, which it keeps instead of sending.
func (img *Image) Source(ctx context.Context, l Layer) (*BlobSource, error) {
	c := &blobCapture{path: "/v2/" + l.repo.RepositoryStr() + "/blobs/" + l.Digest.String()}
	rc, err := img.Open(context.WithValue(ctx, captureKey{}, c), l)
	if err != nil {
		return nil, err
	}
	rc.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.url == "" {
		return nil, fmt.Errorf("layer %s: the registry client sent no request for the blob: %w", l.Digest, errdefs.ErrSystem)
	}
	return &BlobSource{URL: c.url, Header: c.header, Insecure: c.insecure, CAs: img.cas}, nil
}

func (c *Client) remoteOptions(ctx context.Context, cfg registry.AuthConfig) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx), remote.WithTransport(c.rt), remote.WithAuth(authenticator(cfg)),
		remote.WithUserAgent(c.userAgent),
	}
}

// nameOptions marks insecure registries so that go-containerregistry falls back to plain HTTP for them.
func (c *Client) nameOptions(registry string) []name.Option {
	if c.policy.allows(registry) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// Resolve fetches the manifest ref names and, for a list or index, the manifest of platform (DefaultPlatform
// when nil), then the config. Registry errors come back with Docker's messages and classes. A Docker Hub
// name is tried at each mirror first, then at Docker Hub, as dockerd does; the image keeps its own name.
func (c *Client) Resolve(ctx context.Context, ref Reference, auth registry.AuthConfig, platform *v1.Platform) (*Image, error) {
	if platform == nil {
		platform = &DefaultPlatform
	}
	var mirrorErr error
	for _, at := range c.mirrorsOf(ref.Repository()) {
		img, err := c.resolveAt(ctx, ref, at, auth, platform)
		if err == nil || ctx.Err() != nil {
			return img, err
		}
		mirrorErr = err
	}
	if mirrorErr != nil && c.checkRegistry(ref.Repository().RegistryStr()) != nil {
		return nil, mirrorErr // the mirrors are all there is
	}
	return c.resolveAt(ctx, ref, ref.Repository(), auth, platform)
}

// mirrorsOf is where a repository of Docker Hub is mirrored (nothing for other registries).
func (c *Client) mirrorsOf(repo name.Repository) []name.Repository {
	if repo.RegistryStr() != name.DefaultRegistry {
		return nil
	}
	var out []name.Repository
	for _, m := range c.mirrors {
		if r, err := name.NewRepository(m.host+"/"+repo.RepositoryStr(), c.nameOptions(m.host)...); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// resolveAt resolves ref's tag or digest in repository at (ref's own, or a mirror's).
func (c *Client) resolveAt(ctx context.Context, ref Reference, at name.Repository, auth registry.AuthConfig, platform *v1.Platform) (*Image, error) {
	if err := c.checkRegistry(at.RegistryStr()); err != nil {
		return nil, err
	}
	sep := ":"
	if ref.Digest() != "" {
		sep = "@"
	}
	r, err := name.ParseReference(at.Name()+sep+ref.Identifier(), c.nameOptions(at.RegistryStr())...)
	if err != nil {
		return nil, invalidReference(ref.Name(), err)
	}
	opts := c.remoteOptions(ctx, auth)
	// One puller for the manifest, the config and the layers: the registry's ping and token exchange happen
	// once per pull, not once per layer.
	if puller, err := remote.NewPuller(opts...); err == nil {
		opts = append(opts, remote.Reuse(puller))
	}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, translate(err, ref)
	}
	var img v1.Image
	switch {
	case desc.MediaType.IsIndex():
		img, err = pickPlatform(desc, *platform)
	case desc.MediaType.IsImage():
		img, err = desc.Image()
	default:
		err = fmt.Errorf("%s: unsupported manifest media type %s: %w", ref, desc.MediaType, errdefs.ErrInvalid)
	}
	if err != nil {
		return nil, translate(err, ref)
	}
	out := &Image{Ref: ref, Digest: desc.Digest.String(), opts: opts[1:], cas: c.caPEMs}
	if err := out.load(img, r.Context()); err != nil {
		return nil, translate(err, ref)
	}
	return out, nil
}

// load reads the config and the layer list, checking the config's digest and the layers' media types.
func (img *Image) load(src v1.Image, repo name.Repository) error {
	raw, err := src.RawConfigFile()
	if err != nil {
		return err
	}
	m, err := src.Manifest()
	if err != nil {
		return err
	}
	if got := "sha256:" + sha256Hex(raw); got != m.Config.Digest.String() {
		return fmt.Errorf("config of %s: digest %s, manifest says %s: %w", img.Ref, got, m.Config.Digest, errdefs.ErrInvalid)
	}
	cfg, err := v1.ParseConfigFile(strings.NewReader(string(raw)))
	if err != nil {
		return errdefs.Classed(fmt.Errorf("config of %s: %w", img.Ref, err), errdefs.ErrInvalid)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return fmt.Errorf("%s: %d layers in the manifest, %d diff ids in the config: %w", img.Ref, len(m.Layers),
			len(cfg.RootFS.DiffIDs), errdefs.ErrInvalid)
	}
	img.RawConfig, img.Config = raw, cfg
	for i, d := range m.Layers {
		if strings.Contains(string(d.MediaType), "zstd") || d.MediaType == types.DockerForeignLayer {
			return fmt.Errorf("%s: unsupported layer media type %s: %w", img.Ref, d.MediaType, errdefs.ErrNotImplemented)
		}
		img.Layers = append(img.Layers, Layer{Digest: d.Digest, DiffID: cfg.RootFS.DiffIDs[i], Size: d.Size,
			MediaType: d.MediaType, repo: repo})
	}
	return nil
}

// pickPlatform chooses the manifest of platform from an index, as Docker does.
func pickPlatform(desc *remote.Descriptor, platform v1.Platform) (v1.Image, error) {
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && m.MediaType.IsImage() && m.Platform.Satisfies(platform) {
			return idx.Image(m.Digest)
		}
	}
	return nil, fmt.Errorf("no matching manifest for %s in the manifest list entries: %w", platform.String(), errdefs.ErrNotFound)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
