package vch

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Target is the vSphere endpoint vice-machine works on (--target, --user, --password).
type Target struct {
	// Scheme and Host ("host" or "host:port") of the SDK endpoint.
	Scheme, Host string
	// User and Password log in; Password may be empty until prompted for.
	User, Password string
	// Datacenter is the path part of --target ("user:pass@host/datacenter"); empty lets vice-machine use
	// the only datacenter there is.
	Datacenter string
}

// ParseTarget reads --target, which is "[user[:password]@]host[:port][/datacenter]" with an optional
// "https://" in front (an SDK URL, "https://host/sdk", names no datacenter). user and password, when not
// empty, take precedence over the ones in the target.
func ParseTarget(raw, user, password string) (*Target, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("no vSphere target: give --target (user:password@host/datacenter) or set VICE_MACHINE_TARGET")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which holds the password
		}
		return nil, fmt.Errorf("--target %q is not a URL or user:password@host/datacenter: %v", redactRaw(raw), err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("--target scheme %q: use https://host or host", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("--target %q names no host", redactRaw(raw))
	}
	t := &Target{Scheme: u.Scheme, Host: u.Host}
	if u.User != nil {
		t.User = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	if user != "" {
		t.User = user
	}
	if password != "" {
		t.Password = password
	}
	dc := strings.Trim(u.Path, "/")
	if dc == "sdk" {
		dc = ""
	}
	dc = strings.TrimSuffix(dc, "/sdk")
	t.Datacenter = dc
	if t.User == "" {
		return nil, errors.New("no user for the vSphere target: give --user or put user:password@ in front of --target")
	}
	return t, nil
}

// SDK is the SDK endpoint URL, https://host/sdk, without credentials.
func (t *Target) SDK() *url.URL { return &url.URL{Scheme: t.Scheme, Host: t.Host, Path: "/sdk"} }

// SDKWithCredentials is the SDK URL with the user and password, as the appliance's backend needs it.
func (t *Target) SDKWithCredentials() *url.URL {
	u := t.SDK()
	u.User = url.UserPassword(t.User, t.Password)
	return u
}

// String is the target for messages: scheme, host and datacenter, no credentials.
func (t *Target) String() string {
	u := url.URL{Scheme: t.Scheme, Host: t.Host}
	if t.Datacenter != "" {
		u.Path = "/" + t.Datacenter
	}
	return u.String()
}

// redactRaw hides a password in a raw --target for error messages.
func redactRaw(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				return raw[:j+3] + "***" + raw[i:]
			}
			return "***" + raw[i:]
		}
		return raw
	}
	u.User = url.User(u.User.Username())
	return u.String()
}

// RedactURL hides the password of a URL string (the appliance configuration's Target).
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User(u.User.Username())
	return u.String()
}
