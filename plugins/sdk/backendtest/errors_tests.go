package backendtest

import (
	"net/http"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/client/archive"
	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/client/interaction"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// containerOps are every operation on one container, each sent for id with harmless arguments.
func (s *suite) containerOps(t *testing.T, id string) map[string]func() error {
	signal, timeout, cond, force, tail := "TERM", int64(1), "not-running", true, int64(-1)
	return map[string]func() error{
		"inspect": func() error {
			_, err := s.pl.Containers.GetContainer(containers.NewGetContainerParamsWithContext(ctx(t)).WithID(id))
			return err
		},
		"start": func() error {
			_, err := s.pl.Containers.StartContainer(containers.NewStartContainerParamsWithContext(ctx(t)).WithID(id))
			return err
		},
		"stop": func() error {
			_, err := s.pl.Containers.StopContainer(containers.NewStopContainerParamsWithContext(ctx(t)).WithID(id).WithTimeout(&timeout))
			return err
		},
		"signal": func() error {
			_, err := s.pl.Containers.SignalContainer(containers.NewSignalContainerParamsWithContext(ctx(t)).WithID(id).WithSignal(signal))
			return err
		},
		"wait": func() error {
			_, err := s.pl.Containers.WaitContainer(containers.NewWaitContainerParamsWithContext(ctx(t)).WithID(id).WithCondition(&cond))
			return err
		},
		"rename": func() error {
			_, err := s.pl.Containers.RenameContainer(containers.NewRenameContainerParamsWithContext(ctx(t)).WithID(id).WithName(s.newName(t)))
			return err
		},
		"annotations": func() error {
			_, err := s.pl.Containers.SetAnnotations(containers.NewSetAnnotationsParamsWithContext(ctx(t)).WithID(id).WithAnnotations(map[string]string{"a": "b"}))
			return err
		},
		"logs": func() error {
			_, err := s.pl.Containers.GetContainerLogs(containers.NewGetContainerLogsParamsWithContext(ctx(t)).WithID(id).WithTail(&tail), discard{})
			return err
		},
		"usage": func() error {
			_, err := s.pl.Archive.GetContainerUsage(archive.NewGetContainerUsageParamsWithContext(ctx(t)).WithID(id))
			return err
		},
		"resize": func() error {
			_, err := s.pl.Interaction.ResizeContainer(interaction.NewResizeContainerParamsWithContext(ctx(t)).WithID(id).WithHeight(24).WithWidth(80))
			return err
		},
		"remove": func() error {
			_, err := s.pl.Containers.RemoveContainer(containers.NewRemoveContainerParamsWithContext(ctx(t)).WithID(id).WithForce(&force))
			return err
		},
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Every operation on a container that does not exist is not_found.
func (s *suite) testNotFound(t *testing.T) {
	id := newID()
	for name, op := range s.containerOps(t, id) {
		t.Run(name, func(t *testing.T) { wantClass(t, op(), http.StatusNotFound, "not_found") })
	}
	t.Run("attach", func(t *testing.T) {
		if status, class := s.attachError(t, id); status != http.StatusNotFound || class != "not_found" {
			t.Errorf("attach: %d %s, want 404 not_found", status, class)
		}
	})
}

// An ID that is not 64 lowercase hex digits is invalid, for every operation.
func (s *suite) testInvalidID(t *testing.T) {
	for _, id := range []string{"not-an-id", "ABCDEF" + newID()[6:]} {
		for name, op := range s.containerOps(t, id) {
			t.Run(name, func(t *testing.T) { wantClass(t, op(), http.StatusBadRequest, "invalid") })
		}
	}
}

// An ID or a name in use is a conflict, and the refused create changes nothing.
func (s *suite) testDuplicate(t *testing.T) {
	c := s.create(t, forever)
	for what, spec := range map[string]*models.ContainerSpec{
		"name": s.spec(newID(), *c.Name, forever),
		"id":   s.spec(*c.ID, s.newName(t), forever),
	} {
		_, err := s.pl.Containers.CreateContainer(containers.NewCreateContainerParamsWithContext(ctx(t)).WithSpec(spec))
		if err == nil {
			s.removeQuietly(t, *spec.ID)
			t.Errorf("a second container with the same %s was created", what)
			continue
		}
		wantClass(t, err, http.StatusConflict, "conflict")
	}
	if _, err := s.pl.Containers.GetContainer(containers.NewGetContainerParamsWithContext(ctx(t)).WithID(*c.ID)); err != nil {
		t.Errorf("the first container after the refused creates: %v", errText(err))
	}
	sameContainer(t, s.get(t, *c.ID), c)
}

// Specs the contract refuses are invalid, and leave no container behind.
func (s *suite) testInvalidSpec(t *testing.T) {
	for name, spoil := range map[string]func(*models.ContainerSpec){
		"id-not-hex":    func(sp *models.ContainerSpec) { sp.ID = ptr("not-an-id") },
		"id-uppercase":  func(sp *models.ContainerSpec) { sp.ID = ptr("ABCDEF" + newID()[6:]) },
		"no-id":         func(sp *models.ContainerSpec) { sp.ID = nil },
		"no-name":       func(sp *models.ContainerSpec) { sp.Name = nil },
		"empty-name":    func(sp *models.ContainerSpec) { sp.Name = ptr("") },
		"name-slash":    func(sp *models.ContainerSpec) { sp.Name = ptr("a/b") },
		"layer-not-hex": func(sp *models.ContainerSpec) { sp.Layer = "latest" },
		"negative-cpus": func(sp *models.ContainerSpec) { sp.Resources = &models.Resources{Cpus: -1} },
		"negative-mem":  func(sp *models.ContainerSpec) { sp.Resources = &models.Resources{MemoryMB: -1} },
		"no-process":    func(sp *models.ContainerSpec) { sp.Process = nil },
		"empty-path":    func(sp *models.ContainerSpec) { sp.Process.Path = "" },
		"stop-signal":   func(sp *models.ContainerSpec) { sp.StopSignal = "SIGNOPE" },
		"stop-timeout":  func(sp *models.ContainerSpec) { sp.StopTimeout = ptr(int64(-2)) },
		"host-entry":    func(sp *models.ContainerSpec) { sp.ExtraHosts = []*models.HostEntry{{Hostname: ptr("db")}} },
	} {
		t.Run(name, func(t *testing.T) {
			spec := s.spec(newID(), s.newName(t), forever)
			id := *spec.ID
			spoil(spec)
			_, err := s.pl.Containers.CreateContainer(containers.NewCreateContainerParamsWithContext(ctx(t)).WithSpec(spec))
			if err == nil {
				s.removeQuietly(t, id)
			}
			wantClass(t, err, http.StatusBadRequest, "invalid")
			if _, ok := s.list(t)[id]; ok {
				t.Error("a refused create left a container")
			}
		})
	}
}

// A container whose image layer does not exist cannot be created.
func (s *suite) testMissingLayer(t *testing.T) {
	spec := s.spec(newID(), s.newName(t), forever)
	spec.Layer = newID()
	_, err := s.pl.Containers.CreateContainer(containers.NewCreateContainerParamsWithContext(ctx(t)).WithSpec(spec))
	if err == nil {
		s.removeQuietly(t, *spec.ID)
	}
	wantClass(t, err, http.StatusNotFound, "not_found")
	if _, ok := s.list(t)[*spec.ID]; ok {
		t.Error("a refused create left a container")
	}
}

// What needs a running process is a conflict on a container that has none, before its first run and
// after its exit; stopping it is not_modified.
func (s *suite) testNotRunning(t *testing.T) {
	created := s.create(t, forever)
	exited := s.run(t, sh("exit 0"))
	s.exited(t, *exited.ID, 0)
	for what, id := range map[string]string{"created": *created.ID, "exited": *exited.ID} {
		t.Run(what, func(t *testing.T) {
			ops := s.containerOps(t, id)
			wantClass(t, ops["signal"](), http.StatusConflict, "conflict")
			wantClass(t, ops["resize"](), http.StatusConflict, "conflict")
			wantClass(t, ops["stop"](), http.StatusNotModified, "not_modified")
			if status, class := s.attachError(t, id); status != http.StatusConflict || class != "conflict" {
				t.Errorf("attach: %d %s, want 409 conflict", status, class)
			}
			if st := s.get(t, id).State; st.Running {
				t.Errorf("the refused operations started it: %s", stateText(st))
			}
		})
	}
}

// Arguments outside the contract are invalid: an unknown signal, an unknown wait condition.
func (s *suite) testInvalidArgument(t *testing.T) {
	c := s.run(t, forever)
	for _, sig := range []string{"SIGNOPE", "0x9", "999"} {
		_, err := s.pl.Containers.SignalContainer(containers.NewSignalContainerParamsWithContext(ctx(t)).WithID(*c.ID).WithSignal(sig))
		wantClass(t, err, http.StatusBadRequest, "invalid")
	}
	cond := "soon"
	_, err := s.pl.Containers.WaitContainer(containers.NewWaitContainerParamsWithContext(ctx(t)).WithID(*c.ID).WithCondition(&cond))
	wantClass(t, err, http.StatusBadRequest, "invalid")
	for _, size := range [][2]int64{{-1, 80}, {24, -1}} {
		_, err := s.pl.Interaction.ResizeContainer(interaction.NewResizeContainerParamsWithContext(ctx(t)).
			WithID(*c.ID).WithHeight(size[0]).WithWidth(size[1]))
		wantClass(t, err, http.StatusBadRequest, "invalid")
	}
	if st := s.get(t, *c.ID).State; !st.Running {
		t.Errorf("refused arguments stopped the container: %s", stateText(st))
	}
}

func ptr[T any](v T) *T { return &v }
