package transport

// Test hooks. The plugin the tests start is the test binary itself, so they exist on both sides.

// ServedStreams counts the Lane and Exchange streams this process served.
func ServedStreams() (lanes, exchanges int64) { return laneStreams.Load(), exchangeStreams.Load() }

// OpenLanes counts the Lane streams this process serves now.
func OpenLanes() int64 { return openLanes.Load() }

// LanesOpened counts the Lane streams the clients of this process opened.
func LanesOpened() int64 { return lanesOpened.Load() }

// IdleLanes counts c's idle lanes.
func IdleLanes(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.idle)
}
