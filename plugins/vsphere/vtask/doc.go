// Package vtask waits for vSphere tasks in as few round trips as the API allows. govmomi's Task.Wait makes a
// property collector, a filter, waits for updates, then destroys both: five calls per task, even for a task
// that had ended before the wait began (most of a containerVM's reconfigures, power operations and file
// tasks on vcsim, and many on vCenter). Wait reads the task's info once first and only falls back to the
// collector while the task is still queued or running.
package vtask
