// Package imagec is the core's registry client, on go-containerregistry: Docker-style reference
// normalisation, credentials from Docker's X-Registry-Auth header, the insecure-registry policy, manifest
// resolution (Docker schema 2 and OCI, manifest lists and indexes by platform), login checks, and the
// translation of registry errors into errdefs classes with Docker's messages.
package imagec
