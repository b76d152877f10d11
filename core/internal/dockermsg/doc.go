// Package dockermsg is the one table of dockerd's wording for the errors that clients and scripts match on:
// each message's text and the error class (and so the HTTP status) dockerd answers it with.
package dockermsg
