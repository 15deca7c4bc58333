/* Whether a trace is still being written: its process runs on. A trace
 * without an END record was cut short (SIGKILL, a crash the shim could not
 * flush) or belongs to a process that is running now; the reports say
 * which, and how old the last snapshot is. */
#ifndef HC_LIVENESS_H
#define HC_LIVENESS_H

#include "summary.h"

struct hc_liveness {
	int running;            /* the traced process runs, on this machine */
	double snapshot_age_s;  /* since the last snapshot (or the start); -1 unknown */
};

/* Fills *out for the trace s summarises (read just now). */
void hc_liveness(const struct hc_summary *s, struct hc_liveness *out);

#endif
