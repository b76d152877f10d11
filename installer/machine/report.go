package machine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vice-engine/vice/installer/certs"
	"github.com/vice-engine/vice/installer/vch"
	"github.com/vice-engine/vice/installer/vchwire"
)

// reportEndpoint prints how to reach a running VCH, as VIC did at the end of create and in inspect: the
// admin portal, DOCKER_HOST (and DOCKER_CERT_PATH), and the docker command line. With writeEnv the
// environment is also saved in "<cert folder>/<name>.env".
func (m *Machine) reportEndpoint(a vch.Access, writeEnv bool) {
	log := m.Log
	if !a.Reachable() {
		log.Warnf("The appliance has not reported its address yet (state %q); run `vice-machine inspect` later", stateOf(a.Status))
		return
	}
	addr := a.DockerAddr()
	folder := certs.Folder{Dir: a.CertDir}
	log.Blank()
	log.Infof("VCH Admin Portal:")
	log.Infof("%s", a.AdminPortal())
	log.Blank()
	log.Infof("Published ports can be reached at:")
	log.Infof("%s", a.Status.IP)
	log.Blank()
	log.Infof("Docker environment variables:")
	env := dockerEnv(addr, a.TLS, folder)
	log.Infof("%s", strings.Join(env, " "))
	if writeEnv && folder.Dir != "" {
		file := filepath.Join(folder.Dir, a.Name+".env")
		if err := os.WriteFile(file, []byte(strings.Join(env, "\n")+"\n"), 0o644); err != nil {
			log.Warnf("Could not save the environment in %s: %v", file, err)
		} else {
			log.Blank()
			log.Infof("Environment saved in %s", displayPath(file))
		}
	}
	log.Blank()
	log.Infof("Connect to docker:")
	log.Infof("%s", dockerCommand(addr, a.TLS, folder))
	if a.TLS == vchwire.TLSVerify && !folder.Has(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile) {
		log.Warnf("%s has no client certificate: give --tls-cert-path the folder the VCH's certificates were written to", folder.Dir)
	}
}

func stateOf(st *vchwire.ApplianceStatus) string {
	if st == nil {
		return "unknown"
	}
	return st.State
}

// dockerEnv is the environment the docker CLI needs for the VCH.
func dockerEnv(addr, mode string, folder certs.Folder) []string {
	switch mode {
	case vchwire.TLSOff:
		return []string{"DOCKER_HOST=" + addr}
	case vchwire.TLSServer:
		// The docker CLI reads a CA file even when it does not verify the server (it fails without one):
		// the folder holds the VCH's CA.
		return []string{"DOCKER_TLS=1", "DOCKER_CERT_PATH=" + folder.Dir, "DOCKER_HOST=" + addr}
	}
	return []string{"DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + folder.Dir, "DOCKER_HOST=" + addr}
}

// dockerCommand is the docker command line that reaches the VCH.
func dockerCommand(addr, mode string, folder certs.Folder) string {
	switch mode {
	case vchwire.TLSOff:
		return fmt.Sprintf("docker -H %s info", addr)
	case vchwire.TLSServer:
		return fmt.Sprintf("docker -H %s --tls --tlscacert=%q info", addr, displayPath(folder.Path(certs.CAFile)))
	}
	return fmt.Sprintf("docker -H %s --tlsverify --tlscacert=%q --tlscert=%q --tlskey=%q info", addr,
		displayPath(folder.Path(certs.CAFile)), displayPath(folder.Path(certs.ClientCertFile)),
		displayPath(folder.Path(certs.ClientKeyFile)))
}

// displayPath is p relative to the working directory when it lies below it, as VIC printed the certificates.
func displayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return rel
}
