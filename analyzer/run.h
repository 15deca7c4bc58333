/* Running a command under the shim (run.c), for `run` and `soak`. */
#ifndef HC_RUN_H
#define HC_RUN_H

#include <limits.h>

struct hc_run_opts {
	const char *out;
	const char *sample, *promote, *interval, *fork_mode, *allocator;
	int quiet;
	int pymalloc;         /* keep Python's pymalloc (no PYTHONMALLOC=malloc) */
	int dormant;          /* record nothing until `heapcreep on PID` */
	double duration_s;    /* soak: SIGTERM after this long (0: wait) */
	double grace_s;       /* soak: SIGKILL this long after SIGTERM */
	/* results */
	char trace[PATH_MAX]; /* the main trace written, "" if none */
	int status;           /* wait status of the command */
};

/* Takes one of run's options: 2 (with its value), 1 (a flag), 0 (not
 * ours), -1 (after an error line). */
int hc_run_option(struct hc_run_opts *o, const char *name, const char *value);
/* Checks the values taken: 0, or -1 after an error line. */
int hc_run_check(const struct hc_run_opts *o);
/* Runs cmd; 0 when it ran (o->status, o->trace set), else the exit status
 * for a usage error. */
int hc_run(struct hc_run_opts *o, char **cmd);
/* Exits (or dies) the way a wait status says; returns if it cannot. */
int hc_exit_like(int status);

#endif
