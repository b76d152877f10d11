package imagec

import (
	"strings"
	"testing"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func TestWhitelistEntries(t *testing.T) {
	c, err := New([]string{"insecure.example.org"}, WithWhitelist("reg.example.com:5000", "10.1.0.0/16",
		"*.corp.example", "docker.io", "plain.example.net"), WithMirrors("https://mirror.example.net:5000"))
	if err != nil {
		t.Fatal(err)
	}
	for registry, allowed := range map[string]bool{
		"reg.example.com:5000": true, "reg.example.com:5001": false, "10.1.2.3:5000": true, "10.2.0.1": false,
		"a.corp.example": true, "corp.example": false, "index.docker.io": true, "plain.example.net:443": true,
		"insecure.example.org": true, "mirror.example.net:5000": true, "127.0.0.1:5000": false,
	} {
		err := c.checkRegistry(registry)
		if (err == nil) != allowed || err != nil && (!errdefs.Is(err, errdefs.ErrForbidden) ||
			!strings.HasPrefix(err.Error(), "Access denied to unauthorized registry ("+registry+") while VCH is in whitelist mode")) {
			t.Errorf("%s: allowed %v, got %v", registry, allowed, err)
		}
	}
	open, _ := New(nil)
	if err := open.checkRegistry("anything.example:1"); err != nil {
		t.Errorf("no whitelist refused a registry: %v", err)
	}
}
