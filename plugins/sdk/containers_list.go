package sdk

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/runtime/middleware"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// listedSpecs are the JSON encodings of the container specs of recent listings, by the spec's address. A
// backend hands out one spec value for as long as the container's configuration is unchanged and never
// changes it (the vsphere backend decodes it once per read of the VM), so a listing encodes only the specs
// that are new: the bulk of each container's description (Docker's records), where a listing of 50 spent
// most of its encoding.
type listedSpecs struct {
	mu sync.Mutex
	m  map[*models.ContainerSpec]json.RawMessage
}

// wireInfo is a ContainerInfo whose spec is already encoded: its Spec field hides the embedded one.
type wireInfo struct {
	*models.ContainerInfo
	Spec json.RawMessage `json:"spec"`
}

// responder answers ListContainers with list, as the generated responder would.
func (s *listedSpecs) responder(list []*models.ContainerInfo) middleware.Responder {
	return middleware.ResponderFunc(func(rw http.ResponseWriter, _ runtime.Producer) {
		body, err := s.encode(list)
		if err != nil {
			WriteError(rw, err)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusOK)
		_, _ = rw.Write(body)
	})
}

// encode is list as JSON, with the port layer's producer's settings (no HTML escaping, a final newline).
func (s *listedSpecs) encode(list []*models.ContainerInfo) ([]byte, error) {
	s.mu.Lock()
	known := s.m
	s.mu.Unlock()
	fresh := map[*models.ContainerSpec]json.RawMessage{}
	out := make([]wireInfo, len(list))
	for i, info := range list {
		raw, ok := known[info.Spec]
		if !ok {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(info.Spec); err != nil {
				return nil, err
			}
			raw = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			if info.Spec != nil {
				fresh[info.Spec] = raw
			}
		}
		out[i] = wireInfo{ContainerInfo: info, Spec: raw}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	if len(fresh) > 0 {
		// A new map each time, as listings read the last one without the lock. Bounded: past a few
		// listings' worth, only this listing's specs stay.
		s.mu.Lock()
		next := make(map[*models.ContainerSpec]json.RawMessage, len(s.m)+len(fresh))
		if len(s.m)+len(fresh) <= 4*len(list)+64 {
			for k, v := range s.m {
				next[k] = v
			}
		}
		for _, w := range out {
			if w.ContainerInfo.Spec != nil {
				next[w.ContainerInfo.Spec] = w.Spec
			}
		}
		s.m = next
		s.mu.Unlock()
	}
	return buf.Bytes(), nil
}
