// Package certs makes the TLS material of a VCH: a certificate authority, the endpoint's server certificate
// (naming the address the appliance reports, the --tls-cname names and "localhost") and a client
// certificate for the docker CLI. They live in a folder named after the VCH (or --tls-cert-path) with the
// names the docker CLI looks for under DOCKER_CERT_PATH: ca.pem, cert.pem and key.pem (the client's), plus
// ca-key.pem, server-cert.pem and server-key.pem. A folder that already holds them is reused.
//
// Keys are ECDSA P-256: fast to generate, and accepted by the docker CLI and Go's TLS stack alike.
package certs
