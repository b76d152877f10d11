// Package build is vice's classic builder (POST /build, what the docker CLI uses with DOCKER_BUILDKIT=0):
// it reads the build context (a tar, gzip or bzip2 compressed or not, with its .dockerignore), parses the
// Dockerfile (parser directives, continuations, every instruction of the classic builder), and runs its
// stages in order up to the target. RUN steps run in containerVMs of the step's image and config, their
// output streamed, their changes committed as a layer; COPY and ADD write their sources through the archive
// group into a container of the step's image that never starts (a FROM scratch stage's first layer is
// written straight); the other instructions change the image config only (empty-layer history entries).
// Every step's image is kept as an intermediate image whose parent is the step's base, and the build cache
// finds it again as the classic builder does: a child of the current image whose container config (the
// step's command, with the build args a RUN saw or the content hash of COPY's sources) is the step's.
package build
