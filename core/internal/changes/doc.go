// Package changes applies Dockerfile instructions to a container config, as `docker commit --change` and
// `docker import --change` do: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR
// and HEALTHCHECK, with Docker's forms (exec and shell, key=value and the legacy "key value"), quoting and
// variable expansion. Any other instruction is an invalid-argument error in Docker's words.
package changes
