/* Whether a trace's process still runs (see liveness.h). The trace's header
 * has the pid and the moment tracing began (CLOCK_MONOTONIC and
 * CLOCK_REALTIME); the process with that pid is the traced one when it
 * began no later than the trace did (a pid used again belongs to a process
 * started after the traced one ended). */
#include "liveness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* When process pid began, on CLOCK_MONOTONIC; 0 when it cannot be told or
 * the process has ended. */
static uint64_t process_start(uint64_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%llu/stat", (unsigned long long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command may hold spaces and ')' */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0; /* ended: a zombie not yet reaped */
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return 0;
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long long ticks = strtoull(p + 1, NULL, 10);
	if (hz <= 0 || !ticks)
		return 0;
	/* starttime counts from boot, suspended time included: BOOTTIME */
	uint64_t boot_ns = (uint64_t)(ticks * (1000000000.0 / (double)hz));
	uint64_t suspended = clock_ns(CLOCK_BOOTTIME) - clock_ns(CLOCK_MONOTONIC);
	return boot_ns > suspended ? boot_ns - suspended : 1;
}

void hc_liveness(const struct hc_summary *s, struct hc_liveness *out)
{
	out->running = 0;
	out->snapshot_age_s = -1;
	if (!s->have_header || s->complete || !s->header.pid)
		return;
	const struct hc_header_rec *h = &s->header;
	if (kill((pid_t)h->pid, 0) && errno != EPERM)
		return;
	uint64_t began = process_start(h->pid);
	/* one clock tick of slack (starttime is in ticks) and a little more */
	if (!began || began > h->start_monotonic_ns + 20000000u)
		return;
	out->running = 1;
	uint64_t last = s->have_snapshot ? s->last.ts : 0;
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	if (now >= h->start_monotonic_ns + last)
		out->snapshot_age_s = (double)(now - h->start_monotonic_ns - last) / 1e9;
}
