// Command udpecho answers every UDP datagram on -listen with "echo:" and the datagram: the UDP server of the
// network tests' containers (busybox has none).
package main

import (
	"flag"
	"log"
	"net"
)

func main() {
	listen := flag.String("listen", ":9053", "UDP address to answer on")
	flag.Parse()
	c, err := net.ListenPacket("udp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			log.Fatal(err)
		}
		_, _ = c.WriteTo(append([]byte("echo:"), buf[:n]...), from)
	}
}
