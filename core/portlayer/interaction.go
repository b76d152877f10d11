package portlayer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/client/interaction"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// ContainerLogs streams the container's output as newline-delimited models.LogRecord JSON. It returns once
// the port layer has answered; closing the reader (or cancelling ctx) ends the stream.
func (c *Client) ContainerLogs(ctx context.Context, id string, o sdk.LogOptions) (io.ReadCloser, error) {
	if !o.Follow {
		return c.logsNow(ctx, id, o)
	}
	answered := make(chan int, 1)
	hc := &http.Client{Transport: headerSignal{rt: c.rt, status: answered}}
	p := containers.NewGetContainerLogsParamsWithTimeout(0).WithID(id).WithHTTPClient(hc).WithTail(&o.Tail)
	if o.Follow {
		p.SetFollow(&o.Follow)
	}
	if !o.Since.IsZero() {
		p.SetSince(ptr(o.Since.UnixNano()))
	}
	if !o.Until.IsZero() {
		p.SetUntil(ptr(o.Until.UnixNano()))
	}
	return openStream(ctx, "container logs", answered, func(ctx context.Context, w io.Writer) error {
		_, err := c.api.Containers.GetContainerLogsContext(ctx, p, w)
		return err
	})
}

// logsNow reads the log as it is: one exchange, whose body the caller reads as the transport has it, with no
// goroutine and pipe between them (the generated client copies a stream into a writer, so it would need both).
func (c *Client) logsNow(ctx context.Context, id string, o sdk.LogOptions) (io.ReadCloser, error) {
	q := url.Values{}
	q.Set("tail", strconv.FormatInt(o.Tail, 10))
	if !o.Since.IsZero() {
		q.Set("since", strconv.FormatInt(o.Since.UnixNano(), 10))
	}
	if !o.Until.IsZero() {
		q.Set("until", strconv.FormatInt(o.Until.UnixNano(), 10))
	}
	u := url.URL{Scheme: "http", Host: Host, Path: client.DefaultBasePath + "/containers/" + url.PathEscape(id) + "/logs",
		RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("port layer container logs: %w: %w", errdefs.ErrInvalid, err)
	}
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return nil, classify("container logs", &url.Error{Op: "Get", URL: u.String(), Err: err})
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, responseError("container logs", resp)
	}
	return resp.Body, nil
}

// AttachContainer upgrades an exchange to the main process's streams. The generated client cannot hold a
// 101 exchange open, so the request is built here and sent through the same RoundTripper.
func (c *Client) AttachContainer(ctx context.Context, id string, o sdk.AttachOptions) (sdk.Stream, error) {
	q := url.Values{}
	q.Set("stdin", strconv.FormatBool(o.Stdin))
	q.Set("stdout", strconv.FormatBool(o.Stdout))
	q.Set("stderr", strconv.FormatBool(o.Stderr))
	return c.upgrade(ctx, "attach", "/containers/"+url.PathEscape(id)+"/attach", q)
}

// upgrade POSTs to path (under the base path) asking to upgrade, and returns the upgraded exchange.
func (c *Client) upgrade(ctx context.Context, op, path string, q url.Values) (sdk.Stream, error) {
	u := url.URL{Scheme: "http", Host: Host, Path: client.DefaultBasePath + path, RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("port layer %s: %w: %w", op, errdefs.ErrInvalid, err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return nil, classify(op, &url.Error{Op: "Post", URL: u.String(), Err: err})
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		return nil, responseError(op, resp)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return nil, fmt.Errorf("port layer %s: the transport gave a read-only upgraded body: %w", op, errdefs.ErrNotImplemented)
	}
	return &stream{ReadWriteCloser: rwc}, nil
}

// stream adds CloseWrite to transports whose upgraded body has none (closing then is the only way to say EOF).
type stream struct{ io.ReadWriteCloser }

func (s *stream) CloseWrite() error {
	if cw, ok := s.ReadWriteCloser.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// responseError reads a port-layer error body (models.Error) into an error of its class.
func responseError(op string, resp *http.Response) error {
	var e models.Error
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(body, &e) == nil && e.Class != nil && e.Message != nil {
		return errdefs.FromClass(*e.Class, *e.Message)
	}
	return errdefs.FromHTTPStatus(resp.StatusCode, fmt.Sprintf("port layer %s: status %d", op, resp.StatusCode))
}

// ResizeContainer changes the tty size of the main process.
func (c *Client) ResizeContainer(ctx context.Context, id string, height, width int64) error {
	p := interaction.NewResizeContainerParams().WithID(id).WithHeight(height).WithWidth(width)
	_, err := c.api.Interaction.ResizeContainerContext(ctx, p)
	return classify("resize", err)
}

func ptr[T any](v T) *T { return &v }
