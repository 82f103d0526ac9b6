/* check: `pyleak-attach --check PID`, the pre-flight.  Says whether an
 * attach would work and what it would cost, without ever stopping the
 * target: ptrace permission (ptraceperm), the interpreter and its layout
 * (found and verified by reads of the running process, as main does before
 * its stop), and the snapshot auto would take (snapshot_plan).  Prints to
 * stdout; each problem comes with its fix. */
#ifndef PYLEAK_CHECK_H
#define PYLEAK_CHECK_H

struct options;

/* The exit code: EXIT_COMPLETE when an attach would work, EXIT_NOTHING
 * when it would not (the problems say why). */
int check_run(const struct options *o);

#endif
