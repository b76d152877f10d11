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

// specless is a ContainerInfo without its spec: the always empty Spec field hides the embedded one.
type specless struct {
	*models.ContainerInfo
	Spec *struct{} `json:"spec,omitempty"`
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
// Each description is written as {"spec":<its spec's kept JSON>, the other fields...}: the kept JSON is
// this encoder's own output, spliced in as it is (encoding/json would scan it again for validity, which costs
// more than encoding it).
func (s *listedSpecs) encode(list []*models.ContainerInfo) ([]byte, error) {
	s.mu.Lock()
	known := s.m
	s.mu.Unlock()
	var fresh bool
	specs := make([]json.RawMessage, len(list))
	var out, one bytes.Buffer
	enc := json.NewEncoder(&one)
	enc.SetEscapeHTML(false)
	encode := func(v any) ([]byte, error) {
		one.Reset()
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(one.Bytes(), []byte("\n")), nil
	}
	out.WriteByte('[')
	for i, info := range list {
		if i > 0 {
			out.WriteByte(',')
		}
		raw, ok := known[info.Spec]
		if !ok {
			b, err := encode(info.Spec)
			if err != nil {
				return nil, err
			}
			raw, fresh = append(json.RawMessage(nil), b...), true
		}
		specs[i] = raw
		rest, err := encode(specless{ContainerInfo: info})
		if err != nil {
			return nil, err
		}
		out.WriteString(`{"spec":`)
		out.Write(raw)
		if len(rest) > 2 { // more than {}
			out.WriteByte(',')
			out.Write(rest[1:])
		} else {
			out.WriteByte('}')
		}
	}
	out.WriteString("]\n")
	if fresh {
		// A new map each time, as listings read the last one without the lock. Bounded: past a few
		// listings' worth, only this listing's specs stay.
		s.mu.Lock()
		next := make(map[*models.ContainerSpec]json.RawMessage, len(s.m)+len(list))
		if len(s.m) <= 4*len(list)+64 {
			for k, v := range s.m {
				next[k] = v
			}
		}
		for i, info := range list {
			if info.Spec != nil {
				next[info.Spec] = specs[i]
			}
		}
		s.m = next
		s.mu.Unlock()
	}
	return out.Bytes(), nil
}
