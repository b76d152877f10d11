package errdefs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestClassRoundTrip(t *testing.T) {
	for _, c := range classes {
		err := fmt.Errorf("thing x: %w", c.err)
		if got := Class(err); got != c.name {
			t.Errorf("Class(%v) = %q, want %q", err, got, c.name)
		}
		back := FromClass(Class(err), err.Error())
		if !errors.Is(back, c.err) || back.Error() != err.Error() {
			t.Errorf("FromClass lost the class or text of %v: %v", err, back)
		}
		if st := FromHTTPStatus(HTTPStatus(err), "m"); !errors.Is(st, c.err) {
			t.Errorf("status %d does not carry class %s", HTTPStatus(err), c.name)
		}
	}
}

func TestUnclassifiedAndContext(t *testing.T) {
	cases := []struct {
		err    error
		class  string
		status int
	}{
		{errors.New("boom"), "system", http.StatusInternalServerError},
		{fmt.Errorf("op: %w", context.Canceled), "canceled", 499},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), "deadline", http.StatusGatewayTimeout},
		{FromClass("no-such-class", "x"), "system", http.StatusInternalServerError},
		{Classed(errors.New("bad name"), ErrInvalid), "invalid", http.StatusBadRequest},
	}
	for _, c := range cases {
		if got := Class(c.err); got != c.class {
			t.Errorf("Class(%v) = %q, want %q", c.err, got, c.class)
		}
		if got := HTTPStatus(c.err); got != c.status {
			t.Errorf("HTTPStatus(%v) = %d, want %d", c.err, got, c.status)
		}
	}
	if HTTPStatus(nil) != http.StatusOK {
		t.Error("nil error must be 200")
	}
}
