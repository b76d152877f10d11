// Package vtask waits for vSphere tasks in as few round trips, and as little delay, as the API allows.
// govmomi's Task.Wait makes a property collector, a filter, waits for updates, then destroys both: five calls
// per task, even for a task that had ended before the wait began (most of a containerVM's reconfigures, power
// operations and file tasks on vcsim, and many on vCenter), and a collector's wait answers late on some
// servers (govmomi's simulator batches updates on a 20 ms tick). Wait reads the task's info first, reads it
// again a few times over its first milliseconds (a short task ends there), and only then falls back to the
// collector, which waits for a long task without polling.
package vtask
