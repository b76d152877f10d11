package imagec

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Reference is a normalised image reference: a repository (with its registry) and a tag or a digest.
type Reference struct {
	ref name.Reference
}

// ParseReference normalises s as Docker does: a short name is in the default registry (under library/ when it
// has no slash) and a reference without tag or digest is tagged latest.
func ParseReference(s string) (Reference, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return Reference{}, invalidReference(s, err)
	}
	return Reference{ref: ref}, nil
}

// ParseRepository parses a repository name without tag or digest.
func ParseRepository(s string) (name.Repository, error) {
	repo, err := name.NewRepository(s)
	if err != nil {
		return name.Repository{}, invalidReference(s, err)
	}
	return repo, nil
}

// WithTag names tag (or digest, when tag is "sha256:...") in repo; a reference that names its own tag or
// digest keeps it when tag is empty.
func WithTag(image, tag string) (Reference, error) {
	if tag == "" {
		return ParseReference(image)
	}
	base, err := ParseReference(image)
	if err != nil {
		return Reference{}, err
	}
	sep := ":"
	if strings.Contains(tag, ":") {
		sep = "@"
	}
	return ParseReference(base.ref.Context().Name() + sep + tag)
}

func invalidReference(s string, err error) error {
	if lower := strings.ToLower(s); lower != s {
		if _, lerr := name.ParseReference(lower); lerr == nil {
			return fmt.Errorf("invalid reference format: repository name (%s) must be lowercase: %w", s, errdefs.ErrInvalid)
		}
	}
	return errdefs.Classed(fmt.Errorf("invalid reference format: %w", err), errdefs.ErrInvalid)
}

// Name is the reference in full ("index.docker.io/library/busybox:latest").
func (r Reference) Name() string { return r.ref.Name() }

// Repository is the reference's repository.
func (r Reference) Repository() name.Repository { return r.ref.Context() }

// Tag is the reference's tag, "" for a reference by digest.
func (r Reference) Tag() string {
	if t, ok := r.ref.(name.Tag); ok {
		return t.TagStr()
	}
	return ""
}

// Digest is the reference's digest ("sha256:..."), "" for a tag.
func (r Reference) Digest() string {
	if d, ok := r.ref.(name.Digest); ok {
		return d.DigestStr()
	}
	return ""
}

// Identifier is the tag or the digest.
func (r Reference) Identifier() string { return r.ref.Identifier() }

// FamiliarName is the repository as Docker shows it ("busybox", "127.0.0.1:5000/busybox").
func (r Reference) FamiliarName() string { return FamiliarRepository(r.ref.Context()) }

// String is the reference as Docker shows it ("busybox:latest", "busybox@sha256:...").
func (r Reference) String() string {
	if d := r.Digest(); d != "" {
		return r.FamiliarName() + "@" + d
	}
	return r.FamiliarName() + ":" + r.Tag()
}

// FamiliarRepository is repo as Docker shows it: the default registry and its library/ prefix left out.
func FamiliarRepository(repo name.Repository) string {
	path := repo.RepositoryStr()
	if repo.RegistryStr() != name.DefaultRegistry {
		return repo.RegistryStr() + "/" + path
	}
	if short, ok := strings.CutPrefix(path, "library/"); ok && !strings.Contains(short, "/") {
		return short
	}
	return path
}

// PathInRegistry is the repository's path within its registry, as Docker's "Pulling from" line shows it
// ("library/busybox").
func (r Reference) PathInRegistry() string { return r.ref.Context().RepositoryStr() }
