// Command vice-bench runs vice and Docker's own engine side by side on this machine and compares them: the
// same docker CLI drives a vice VCH on the simulator and a private dockerd, alternating per iteration, and
// the table gives medians, extremes and the vice/Docker ratio. Raw samples go to bench/results/<time>.json.
// Everything it starts is torn down at the end or on SIGINT/SIGTERM, and the teardown is verified.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	runs       int           // samples of each quick row per side
	pulls      int           // samples of the big pull per side
	rounds     int           // rounds of the 50-container fleet (more only while the budget allows)
	fleet      int           // containers in a fleet
	parallel   int           // concurrent `docker run -d` in a fleet
	budget     time.Duration // measuring stops early (rows keep what they have) past this
	cmdTimeout time.Duration // one CLI invocation
	bin        string
	out        string
	only       map[string]bool // row groups to measure (-only); nil is all of them
}

// harness is one run: its private directory and cgroups, the daemons it started, and the results.
type harness struct {
	cfg       config
	repo, dir string
	bin       string
	id        string
	cg        *cgroups
	daemons   []*daemon
	dockerCLI string
	reg       string // loopback registry host:port
	vice      *side
	docker    *side
	started   time.Time
	deadline  time.Time
	meta      map[string]string
	rows      []*row
	before    snapshot // host state before anything started, for the leak check
	cleanOnce sync.Once
}

func main() {
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 60, "samples per side of each quick row")
	flag.IntVar(&cfg.pulls, "pulls", 3, "samples per side of the 256 MB pull")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds of the container fleet (fewer when the budget runs short)")
	flag.IntVar(&cfg.fleet, "containers", 50, "containers in the fleet")
	flag.IntVar(&cfg.parallel, "parallel", 8, "concurrent `docker run -d` while starting the fleet")
	flag.DurationVar(&cfg.budget, "budget", 12*time.Minute, "time after which no new samples are taken")
	flag.DurationVar(&cfg.cmdTimeout, "cmd-timeout", 60*time.Second, "limit of one docker CLI invocation")
	flag.StringVar(&cfg.bin, "bin", "bin", "directory of the vice binaries (make build)")
	flag.StringVar(&cfg.out, "out", "bench/results", "directory of the JSON results")
	only := flag.String("only", "", "comma-separated row groups to measure, of "+strings.Join(rowGroups, ", ")+
		" (default: all)")
	flag.Parse()
	var err error
	if cfg.only, err = parseOnly(*only); err != nil {
		fmt.Fprintln(os.Stderr, "vice-bench:", err)
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "vice-bench: needs root (dockerd, the hypervisor emulator, cgroups)")
		os.Exit(2)
	}
	os.Exit(run(cfg))
}

func run(cfg config) int {
	h, err := newHarness(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vice-bench:", err)
		return 1
	}
	// The first SIGINT/SIGTERM cancels ctx: running CLIs are killed, the measuring returns, and the deferred
	// cleanup runs. Signals stay caught until then, so a second ^C cannot cut the teardown short.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			fmt.Fprintf(os.Stderr, "\nvice-bench: %v: stopping and cleaning up\n", s)
			cancel()
		}
	}()
	defer h.cleanup()

	h.header()
	if err := h.setup(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "vice-bench: setup:", err)
		return 1
	}
	h.measure(ctx)
	if ctx.Err() != nil {
		fmt.Println("\nINTERRUPTED: the table holds the samples taken so far; failures after the signal are its doing")
	}
	h.printTable()
	if err := h.writeJSON(); err != nil {
		fmt.Fprintln(os.Stderr, "vice-bench:", err)
	}
	if ctx.Err() != nil {
		return 130
	}
	return 0
}

func newHarness(cfg config) (*harness, error) {
	repo, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	cli, err := exec.LookPath("docker")
	if err != nil {
		return nil, fmt.Errorf("the docker CLI is needed on PATH: %w", err)
	}
	bin, err := filepath.Abs(cfg.bin)
	if err != nil {
		return nil, err
	}
	for _, b := range []string{"vice-vcsim", "vice-engine", "vice-plugin-vcsim", "vice-registry"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, fmt.Errorf("%s missing: run make build first", filepath.Join(bin, b))
		}
	}
	h := &harness{cfg: cfg, repo: repo, bin: bin, dockerCLI: cli, started: time.Now(),
		id: strconv.FormatInt(time.Now().Unix(), 36), meta: map[string]string{}}
	h.deadline = h.started.Add(cfg.budget)
	h.before = takeSnapshot()
	// Short: dockerd and containerd put unix sockets under it, and sun_path holds 107 bytes.
	if h.dir, err = os.MkdirTemp("", "vb-"); err != nil {
		return nil, err
	}
	if h.cg, err = newCgroups("vice-bench-" + h.id); err != nil {
		os.RemoveAll(h.dir)
		return nil, err
	}
	return h, nil
}

// env is the environment of everything the harness starts: the caller's minus anything pointing a docker
// CLI elsewhere, with a private CLI config so ~/.docker is never read or written.
func (h *harness) env() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "DOCKER_") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "DOCKER_CONFIG="+filepath.Join(h.dir, "cli"), "DOCKER_CLI_HINTS=false")
}

// setup starts the registry, vice and dockerd, and pulls busybox on both sides.
func (h *harness) setup(ctx context.Context) error {
	regReady, err := h.startRegistry()
	if err != nil {
		return err
	}
	if err := h.ensureDockerd(ctx); err != nil {
		return err
	}
	if err := h.startDocker(ctx); err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	if err := h.startVice(ctx); err != nil {
		return fmt.Errorf("vice: %w", err)
	}
	h.versions(ctx)
	select {
	case <-regReady:
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("vice-registry did not finish seeding; see %s/vice-registry.log", h.dir)
	case <-ctx.Done():
		return ctx.Err()
	}
	logf("registry %s seeded (busybox, big)", h.reg)
	for _, s := range h.sides() {
		t, _, err := h.cli(ctx, s, 3*time.Minute, "pull", "-q", h.image("busybox"))
		if err != nil {
			s.broken = "pull busybox: " + brief(err)
			logf("%s: pull %s failed: %s", s.name, h.image("busybox"), brief(err))
			continue
		}
		logf("%s: pulled %s in %.2fs", s.name, h.image("busybox"), t)
	}
	return nil
}

func (h *harness) image(name string) string { return h.reg + "/" + name }

func (h *harness) sides() []*side { return []*side{h.vice, h.docker} }

func logf(format string, args ...any) {
	fmt.Printf("%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
