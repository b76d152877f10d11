package sdk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/runtime/middleware"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// listedSpecs are the JSON encodings of the container specs of recent listings, with their specVersions, by
// the spec's address. A backend hands out one spec value for as long as the container's configuration is
// unchanged and never changes it (the vsphere backend decodes it once per read of the VM), so a listing
// encodes only the specs that are new: the bulk of each container's description (Docker's records), where a
// listing of 50 spent most of its encoding. A caller that names a spec's version in knownSpec (the engine's
// docker ps, which has them from its last listing) gets the description without the spec.
type listedSpecs struct {
	mu sync.Mutex
	m  map[*models.ContainerSpec]encodedSpec
}

type encodedSpec struct {
	json    []byte
	version string // the first 16 bytes of the JSON's SHA-256, in hex
}

// specless is a ContainerInfo without its spec and specVersion: the always empty fields hide the embedded
// ones.
type specless struct {
	*models.ContainerInfo
	Spec        *struct{} `json:"spec,omitempty"`
	SpecVersion *struct{} `json:"specVersion,omitempty"`
}

// responder answers ListContainers with list, as the generated responder would, leaving out the specs
// whose versions are in known.
func (s *listedSpecs) responder(list []*models.ContainerInfo, known []string) middleware.Responder {
	return middleware.ResponderFunc(func(rw http.ResponseWriter, _ runtime.Producer) {
		body, err := s.encode(list, known)
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
// Each description is written as {"spec":<its spec's kept JSON, or null when known>,"specVersion":...,
// the other fields...}: the kept JSON is this encoder's own output, spliced in as it is (encoding/json would
// scan it again for validity, which costs more than encoding it).
func (s *listedSpecs) encode(list []*models.ContainerInfo, known []string) ([]byte, error) {
	s.mu.Lock()
	kept := s.m
	s.mu.Unlock()
	has := make(map[string]bool, len(known))
	for _, v := range known {
		has[v] = true
	}
	var fresh bool
	specs := make([]encodedSpec, len(list))
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
		es, ok := kept[info.Spec]
		if !ok && info.Spec != nil {
			b, err := encode(info.Spec)
			if err != nil {
				return nil, err
			}
			sum := sha256.Sum256(b)
			es, fresh = encodedSpec{json: append([]byte(nil), b...), version: hex.EncodeToString(sum[:16])}, true
		}
		specs[i] = es
		rest, err := encode(specless{ContainerInfo: info})
		if err != nil {
			return nil, err
		}
		out.WriteByte('{')
		if info.Spec != nil {
			out.WriteString(`"spec":`)
			if has[es.version] {
				out.WriteString("null")
			} else {
				out.Write(es.json)
			}
			out.WriteString(`,"specVersion":"`)
			out.WriteString(es.version)
			out.WriteByte('"')
			if len(rest) > 2 { // more than {}
				out.WriteByte(',')
			}
		}
		out.Write(rest[1:])
	}
	out.WriteString("]\n")
	if fresh {
		// A new map each time, as listings read the last one without the lock. Bounded: past a few
		// listings' worth, only this listing's specs stay.
		s.mu.Lock()
		next := make(map[*models.ContainerSpec]encodedSpec, len(s.m)+len(list))
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
