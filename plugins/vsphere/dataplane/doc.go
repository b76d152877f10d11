// Package dataplane is the endpoint VM's side of its bridge network (DESIGN §5a), the same code on vSphere
// and under the hypervisor emulator: the VCH's address on each bridge network (the network's gateway) on the
// endpoint's NIC there, the DNS server answering on those addresses with the containers' names and
// forwarding the rest to the containers' name servers, and the forwarders that publish containers' ports on
// the VCH's public address.
//
// The NIC is found by its MAC in a network namespace: the endpoint's own in a VM; under the emulator, whose
// appliances run in the host's namespace (where their public address is), the namespace that holds the
// appliance VM's vNICs. Sockets on the bridge network are opened in that namespace, which is how the endpoint
// reaches the containers without a route in the host's namespace.
package dataplane
