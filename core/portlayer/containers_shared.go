package portlayer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"

	"github.com/go-openapi/runtime"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// ListContainersShared is ListContainers for callers that only read the answer (docker ps): a container whose
// description is, byte for byte, the one the previous listing carried gets the value decoded then. What is
// kept is keyed by the JSON text itself, so it can never describe a container other than the backend did in
// this answer; the values are shared between answers and must not be changed.
func (c *Client) ListContainersShared(ctx context.Context, filter sdk.ListFilter) ([]*models.ContainerInfo, error) {
	c.listed.mu.Lock()
	specs := c.listed.specs
	c.listed.mu.Unlock()
	known := make([]string, 0, len(specs))
	for v := range specs {
		known = append(known, v)
	}
	sort.Strings(known) // the same request for the same specs
	p := containers.NewListContainersParamsWithTimeout(0).WithName(filter.Names).WithID(filter.IDs).
		WithStatus(filter.Statuses).WithKnownSpec(known)
	ok, err := c.api.Containers.ListContainersContext(ctx, p, func(op *runtime.ClientOperation) {
		op.Reader = sharedListReader{next: op.Reader, memo: &c.listed, specs: specs}
	})
	if err != nil {
		return nil, classify("list containers", err)
	}
	return ok.Payload, nil
}

// listedInfos are the container descriptions of the last shared listing, by their JSON text.
type listedInfos struct {
	mu sync.Mutex
	m  map[string]listedInfo
	// specs are the specs of the last shared listing by specVersion: the next one names them in knownSpec,
	// and the backend leaves them out of the descriptions.
	specs map[string]*models.ContainerSpec
}

// listedInfo is one description with its text, the key, kept to be the key of the next listing's map too.
type listedInfo struct {
	text string
	info *models.ContainerInfo
}

// listBodies are the buffers the shared answers are read into: 3 KB per container.
var listBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads an answer (what, for its error) into a pooled buffer, which the caller puts back.
func readBody(res runtime.ClientResponse, what string) (*bytes.Buffer, error) {
	buf := listBodies.Get().(*bytes.Buffer)
	buf.Reset()
	if _, err := buf.ReadFrom(res.Body()); err != nil {
		listBodies.Put(buf)
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return buf, nil
}

// sharedListReader decodes a listing's answer one container at a time, reusing the decodings of the last
// listing for the containers whose descriptions did not change; other answers go to next.
type sharedListReader struct {
	next  runtime.ClientResponseReader
	memo  *listedInfos
	specs map[string]*models.ContainerSpec // the ones the request named as known
}

func (r sharedListReader) ReadResponse(res runtime.ClientResponse, consumer runtime.Consumer) (any, error) {
	if res.Code() != http.StatusOK {
		return r.next.ReadResponse(res, consumer)
	}
	buf, err := readBody(res, "the container list")
	if err != nil {
		return nil, err
	}
	defer listBodies.Put(buf)
	items, err := splitArray(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("decode the container list: %w", err)
	}
	r.memo.mu.Lock()
	last := r.memo.m
	r.memo.mu.Unlock()
	kept := make(map[string]listedInfo, len(items))
	specs := make(map[string]*models.ContainerSpec, len(items))
	out := make([]*models.ContainerInfo, 0, len(items))
	for _, item := range items {
		e, ok := last[string(item)]
		if !ok { // a known text was decoded, and its left-out spec taken, before
			e = listedInfo{text: string(item), info: new(models.ContainerInfo)}
			if err := json.Unmarshal(item, e.info); err != nil {
				return nil, fmt.Errorf("decode the container list: %w", err)
			}
			if e.info.Spec == nil && e.info.SpecVersion != "" {
				// Left out as known: the request named it, from the specs it had.
				if e.info.Spec = r.specs[e.info.SpecVersion]; e.info.Spec == nil {
					return nil, fmt.Errorf("the container list left out spec %s, which was not asked for: %s",
						e.info.SpecVersion, item)
				}
			}
		}
		kept[e.text] = e
		if e.info.SpecVersion != "" {
			specs[e.info.SpecVersion] = e.info.Spec
		}
		out = append(out, e.info)
	}
	r.memo.mu.Lock()
	r.memo.m, r.memo.specs = kept, specs
	r.memo.mu.Unlock()
	return &containers.ListContainersOK{Payload: out}, nil
}

// splitArray returns the elements of the JSON array data, in one pass that follows only strings and nesting.
// An element is checked when it is decoded; one equal to an element decoded before is that element.
func splitArray(data []byte) ([][]byte, error) {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil, nil
	}
	if len(data) < 2 || data[0] != '[' || data[len(data)-1] != ']' {
		return nil, errors.New("not a JSON array")
	}
	var items [][]byte
	depth, start, inString := 0, 1, false
	for i := 1; i < len(data)-1; i++ {
		switch c := data[i]; {
		case inString:
			// Jump to the string's next quote; it ends the string unless an odd run of backslashes escapes it.
			j := bytes.IndexByte(data[i:len(data)-1], '"')
			if j < 0 {
				return nil, errors.New("unbalanced JSON array")
			}
			i += j
			n := 0
			for k := i - 1; k > 0 && data[k] == '\\'; k-- {
				n++
			}
			inString = n%2 == 1
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth < 0 {
				return nil, errors.New("unbalanced JSON array")
			}
		case c == ',' && depth == 0:
			items = append(items, bytes.TrimSpace(data[start:i]))
			start = i + 1
		}
	}
	if depth != 0 || inString {
		return nil, errors.New("unbalanced JSON array")
	}
	if last := bytes.TrimSpace(data[start : len(data)-1]); len(last) > 0 || len(items) > 0 {
		items = append(items, last)
	}
	return items, nil
}

// GetContainerShared is GetContainer for callers that only read the answer (docker inspect). A description is
// kept while the backend's change clock says nothing can have changed it (changes.go), and answered again
// without asking. Otherwise a description that is, byte for byte, one a recent answer carried gets the value
// decoded then: as for a shared listing, that is keyed by the JSON text itself. The values are shared and
// must not be changed.
func (c *Client) GetContainerShared(ctx context.Context, id string) (*models.ContainerInfo, error) {
	if info, ok := c.changes.lookup(id); ok {
		return info, nil
	}
	local := c.changes.local.Load()
	var stamp string
	ok, err := c.api.Containers.GetContainerContext(ctx, containers.NewGetContainerParams().WithID(id),
		func(op *runtime.ClientOperation) {
			op.Reader = sharedInfoReader{next: op.Reader, memo: &c.described, stamp: &stamp}
		})
	if err != nil {
		return nil, classify("get container", err)
	}
	if s, found := sdk.ParseStamp(stamp); found {
		c.changes.keep(id, ok.Payload, s, local)
	}
	return ok.Payload, nil
}

// describedMax bounds the descriptions kept for GetContainerShared; past it the memo starts again empty.
const describedMax = 256

// describedInfos are recent shared descriptions by their JSON text.
type describedInfos struct {
	mu sync.Mutex
	m  map[string]*models.ContainerInfo
}

// sharedInfoReader decodes a description unless the same text was decoded recently; other answers go to next.
type sharedInfoReader struct {
	next  runtime.ClientResponseReader
	memo  *describedInfos
	stamp *string // set to the answer's sdk.ChangesHeader
}

func (r sharedInfoReader) ReadResponse(res runtime.ClientResponse, consumer runtime.Consumer) (any, error) {
	if res.Code() != http.StatusOK {
		return r.next.ReadResponse(res, consumer)
	}
	*r.stamp = res.GetHeader(sdk.ChangesHeader)
	buf, err := readBody(res, "the container")
	if err != nil {
		return nil, err
	}
	defer listBodies.Put(buf)
	text := bytes.TrimSpace(buf.Bytes())
	r.memo.mu.Lock()
	info, ok := r.memo.m[string(text)]
	r.memo.mu.Unlock()
	if !ok {
		info = new(models.ContainerInfo)
		if err := json.Unmarshal(text, info); err != nil {
			return nil, fmt.Errorf("decode the container: %w", err)
		}
		r.memo.mu.Lock()
		if r.memo.m == nil || len(r.memo.m) >= describedMax {
			r.memo.m = map[string]*models.ContainerInfo{}
		}
		r.memo.m[string(text)] = info
		r.memo.mu.Unlock()
	}
	return &containers.GetContainerOK{Payload: info}, nil
}
