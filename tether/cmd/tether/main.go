// Command tether is PID 1 of a containerVM; see package tether.
package main

import "github.com/vice-engine/vice/tether"

func main() { tether.Main() }
