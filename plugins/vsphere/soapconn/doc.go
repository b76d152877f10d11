// Package soapconn keeps a vSphere client's connections reusable. govmomi's SOAP client closes a response's
// body as soon as its XML decoder has the envelope, before the body's end (the empty last chunk of a chunked
// response, which large answers such as a VM's configuration are); Go's transport then drops the connection
// instead of keeping it idle, and the next call pays a new TCP connection and TLS handshake (two with a
// pinned thumbprint, the first refused by certificate verification). Drain wraps the client's transport so a
// closed body is read to its end first. The backend's client (plugins/vsphere) and the hypervisor emulator's
// (plugins/vcsim/emulator) both use it.
package soapconn
