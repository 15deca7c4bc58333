/* The progress line (progress.h). One line, redrawn with '\r', on standard
 * error only; it must never write when standard error is not a terminal. */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"

#define PROGRESS_DELAY 0.5 /* seconds before the line first shows */
#define PROGRESS_EVERY 0.2 /* seconds between redraws */

static struct {
	int on;               /* standard error is a terminal, a build runs */
	double delay;
	const char *path;
	uint64_t size;
	int pass, passes;
	double t0, last;
	size_t width;         /* of the line drawn, 0 when none */
} P;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw(uint64_t pos)
{
	const char *base = strrchr(P.path, '/');
	base = base ? base + 1 : P.path;
	char line[96];
	int n;
	if (P.size)
		n = snprintf(line, sizeof(line), HC_PROG ": analysing %.40s: pass %d of %d, %3d%%", base,
			     P.pass, P.passes, (int)(pos >= P.size ? 100 : pos * 100 / P.size));
	else
		n = snprintf(line, sizeof(line), HC_PROG ": analysing %.40s: pass %d of %d", base,
			     P.pass, P.passes);
	if (n < 0)
		return;
	hc_terminal_safe(line); /* a file name drives no terminal */
	size_t len = strlen(line);
	fprintf(stderr, "\r%s%*s", line, P.width > len ? (int)(P.width - len) : 0, "");
	fflush(stderr);
	P.width = len;
}

void hc_progress_begin(const char *path, uint64_t size, int passes)
{
	static int warned;
	memset(&P, 0, sizeof(P));
	P.on = isatty(STDERR_FILENO);
	P.delay = PROGRESS_DELAY;
	const char *v = getenv("HEAPCREEP_PROGRESS");
	if (v && !strcmp(v, "0"))
		P.on = 0;
	else if (v && !strcmp(v, "1"))
		P.delay = 0;
	else if (v && *v && P.on && !warned) {
		hc_err("HEAPCREEP_PROGRESS '%s' is neither 0 nor 1; ignored", v);
		warned = 1;
	}
	P.path = path ? path : "";
	P.size = size;
	P.passes = passes;
	P.pass = 1;
	P.t0 = P.last = P.on ? now() : 0;
}

void hc_progress_pass(int pass)
{
	P.pass = pass;
	if (P.width)
		draw(0);
}

void hc_progress_at(uint64_t pos)
{
	if (!P.on)
		return;
	double t = now();
	if (t - P.t0 < P.delay || (P.width && t - P.last < PROGRESS_EVERY))
		return;
	P.last = t;
	draw(pos);
}

void hc_progress_end(void)
{
	if (P.width) {
		fprintf(stderr, "\r%*s\r", (int)P.width, "");
		fflush(stderr);
	}
	P.on = 0;
	P.width = 0;
}
