# vice: a Docker-API container engine where every container is a vSphere VM.
SHELL := /bin/bash
GO ?= go
SWAGGER ?= $(shell command -v swagger 2>/dev/null || echo $(shell $(GO) env GOPATH)/bin/swagger)
SWAGGER_VERSION := v0.36.7
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The build time is the commit's (UTC, RFC 3339), so a rebuild of one commit gives the same binaries.
BUILD_TIME ?= $(shell TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%S.000000000+00:00 --format=%cd 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.gitCommit=$(shell git rev-parse --short HEAD 2>/dev/null) \
	-X main.buildTime=$(BUILD_TIME) -X github.com/vice-engine/vice/plugins/vsphere.version=$(VERSION)

BINARIES := \
	core/cmd/vice-engine \
	plugins/vcsim/cmd/vice-vcsim \
	plugins/vcsim/cmd/vice-plugin-vcsim \
	plugins/vsphere/cmd/vice-plugin-vsphere \
	installer/cmd/vice-machine \
	simulator-tests/cmd/vice-registry

# Both ISOs boot a Linux kernel from Debian's cloud kernel package (pinned here, the one place) with an initramfs
# the build makes (vice-init and the kernel's modules for VMware's and QEMU's virtual hardware), through isolinux.
# The packages are fetched once with apt-get download into BOOT_CACHE and unpacked there.
KERNEL_PACKAGE := linux-image-6.1.0-50-cloud-amd64=6.1.176-1
ISOLINUX_PACKAGE := isolinux=3:6.04~git20190206.bf6db5b4+dfsg1-3
SYSLINUX_PACKAGE := syslinux-common=3:6.04~git20190206.bf6db5b4+dfsg1-3
BOOT_CACHE ?= .cache/boot
boot_dir = $(BOOT_CACHE)/$(subst +,_,$(subst ~,_,$(subst :,_,$(subst =,_,$(1)))))
KERNEL_DIR := $(call boot_dir,$(KERNEL_PACKAGE))
ISOLINUX_BIN := $(call boot_dir,$(ISOLINUX_PACKAGE))/usr/lib/ISOLINUX/isolinux.bin
LDLINUX := $(call boot_dir,$(SYSLINUX_PACKAGE))/usr/lib/syslinux/modules/bios/ldlinux.c32
ISO_BOOT := -kernel-package '$(KERNEL_DIR)' -boot-init bin/vice-init -isolinux '$(ISOLINUX_BIN)' -isolinux-module '$(LDLINUX)'

# The endpoint VM's binaries: static, so that appliance.iso runs on any kernel, and stripped, to keep it small.
APPLIANCE_BINARIES := \
	installer/cmd/vice-appliance \
	core/cmd/vice-engine \
	plugins/vcsim/cmd/vice-plugin-vcsim \
	plugins/vsphere/cmd/vice-plugin-vsphere

.PHONY: all busybox boot-files vice-init build bootstrap-iso appliance-iso generate check-generate swagger-tool test bench run stop clean

all: build

# Debian's static busybox is the root filesystem of the test images.
busybox:
	@dpkg -s busybox-static >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq busybox-static; }

# The kernel and isolinux packages, fetched and unpacked once.
boot-files:
	@scripts/boot-files.sh '$(BOOT_CACHE)' '$(KERNEL_PACKAGE)' '$(ISOLINUX_PACKAGE)' '$(SYSLINUX_PACKAGE)'

# The initramfs's /init: static, as nothing else is in the initramfs.
vice-init:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -ldflags '-s -w $(LDFLAGS)' -o bin/vice-init ./installer/cmd/vice-init

build: bootstrap-iso appliance-iso
	@mkdir -p bin
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/ $(addprefix ./,$(BINARIES))

# bootstrap.iso is the cdrom every containerVM boots: the static tether (CGO off) at /tether, and the kernel.
bootstrap-iso: boot-files vice-init
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/tether ./tether/cmd/tether
	$(GO) run ./installer/cmd/vice-iso -tether bin/tether -o bin/bootstrap.iso -version '$(VERSION)' $(ISO_BOOT)

# appliance.iso is the endpoint VM's cdrom: /init (vice-appliance), /bin/vice-engine and /plugins/*, and the kernel.
appliance-iso: boot-files vice-init
	@mkdir -p bin/appliance
	CGO_ENABLED=0 $(GO) build -ldflags '-s -w $(LDFLAGS)' -o bin/appliance/ $(addprefix ./,$(APPLIANCE_BINARIES))
	$(GO) run ./installer/cmd/vice-iso -appliance -init bin/appliance/vice-appliance -engine bin/appliance/vice-engine \
		-plugin bin/appliance/vice-plugin-vcsim -plugin bin/appliance/vice-plugin-vsphere \
		-o bin/appliance.iso -version '$(VERSION)' $(ISO_BOOT)

swagger-tool:
	@test -x "$(SWAGGER)" || $(GO) install github.com/go-swagger/go-swagger/cmd/swagger@$(SWAGGER_VERSION)

# Regenerates swagger/gen from swagger/portlayer.yaml; the result is committed and never edited by hand.
generate: swagger-tool
	rm -rf swagger/gen && mkdir -p swagger/gen
	$(SWAGGER) generate server -q -f swagger/portlayer.yaml -t swagger/gen -A portlayer --exclude-main --regenerate-configureapi
	$(SWAGGER) generate client -q -f swagger/portlayer.yaml -t swagger/gen -A portlayer --skip-models

# Fails when the committed generated code differs from what the spec generates.
check-generate: generate
	@git diff --exit-code --stat -- swagger/gen && test -z "$$(git status --porcelain -- swagger/gen)" \
		|| { echo "swagger/gen is stale: run 'make generate' and commit"; exit 1; }

test: check-generate
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

# Go micro-benchmarks (medians of 5), then vice side by side with Docker's own engine (root; installs Debian's
# docker.io when dockerd is missing; bench/README.md). BENCH_ARGS go to vice-bench, e.g. BENCH_ARGS='-runs 5'.
bench: build busybox
	@GO=$(GO) scripts/bench.sh $(BENCH_ARGS)

# Starts a VCH on the embedded simulator in the background (its endpoint VM answers on 127.64.0.x:2376 with
# TLS; . .run/docker.env sets the docker CLI up). VICE_VCSIM_ADDR and VICE_REGISTRY_ADDR move its ports.
run: build busybox
	@scripts/run.sh

stop:
	@scripts/stop.sh

clean: stop
	rm -rf bin .run
