package imagec

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// DecodeAuthHeader decodes Docker's X-Registry-Auth header: base64url of a JSON registry.AuthConfig. An empty
// header is anonymous access.
func DecodeAuthHeader(header string) (registry.AuthConfig, error) {
	var cfg registry.AuthConfig
	if header == "" {
		return cfg, nil
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if raw, err = enc.DecodeString(header); err == nil {
			break
		}
	}
	if err != nil {
		return cfg, fmt.Errorf("invalid X-Registry-Auth header: %v: %w", err, errdefs.ErrInvalid)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("invalid X-Registry-Auth header: %v: %w", err, errdefs.ErrInvalid)
	}
	return cfg, nil
}

// authenticator turns Docker's credentials into go-containerregistry's; no credentials is anonymous.
func authenticator(cfg registry.AuthConfig) authn.Authenticator {
	if cfg.Username == "" && cfg.Password == "" && cfg.Auth == "" && cfg.IdentityToken == "" && cfg.RegistryToken == "" {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{
		Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
		IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken,
	})
}

// serverRegistry is the registry a login names: "host[:port]", a URL, or nothing (the default registry).
func serverRegistry(address string, opts ...name.Option) (name.Registry, error) {
	host := address
	if _, rest, ok := strings.Cut(host, "://"); ok {
		host = rest
	}
	host, _, _ = strings.Cut(host, "/")
	if host == "" {
		host = name.DefaultRegistry
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return name.Registry{}, errdefs.Classed(fmt.Errorf("invalid registry address %q: %w", address, err), errdefs.ErrInvalid)
	}
	return reg, nil
}
