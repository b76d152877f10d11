package images

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/internal/changes"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// applyChanges applies `docker import --change` instructions to an image config, as Docker applies them to a
// commit's (core/internal/changes); any other instruction is an invalid-argument error.
func applyChanges(c *v1.Config, list []string) error {
	if len(list) == 0 {
		return nil
	}
	// The image config's runtime part and Docker's container config share their JSON.
	var cfg container.Config
	if err := convert(c, &cfg); err != nil {
		return err
	}
	if err := changes.Apply(&cfg, list); err != nil {
		return err
	}
	*c = v1.Config{}
	return convert(&cfg, c)
}

func convert(from, to any) error {
	b, err := json.Marshal(from)
	if err == nil {
		err = json.Unmarshal(b, to)
	}
	if err != nil {
		return fmt.Errorf("image config: %w: %w", errdefs.ErrSystem, err)
	}
	return nil
}
