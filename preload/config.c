/* Configuration from HEAPCREEP_* environment variables, read once with
 * secure_getenv (a setuid program gets none). Any malformed value or unknown
 * HEAPCREEP_ name is bad configuration: one line on stderr and tracing off;
 * the traced program itself runs on untouched. Never allocates.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heapcreep/units.h"
#include "internal.h"

struct hc_config hc_config;

extern char **environ;

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	if (!*s)
		return -1;
	long v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static void note(const char *name, const char *value)
{
	size_t n = strlen(hc_config.text);
	hc_fmt(hc_config.text + n, sizeof(hc_config.text) - n, "%s=%s\n", name, value);
}

static int bad(const char *name, const char *value, const char *expect)
{
	hc_log("bad %s '%s': expected %s; tracing off", name, value, expect);
	return -1;
}

int hc_config_load(void)
{
	struct hc_config *c = &hc_config;
	memset(c, 0, sizeof(*c));
	if (!getcwd(c->output, sizeof(c->output) - 20))
		c->output[0] = '\0';
	strcat(c->output, c->output[0] ? "/heapcreep.%p.hct" : "heapcreep.%p.hct");
	c->promotion_ns = 2000000000u;
	c->interval_ns = 1000000000u;
	c->wait_ns = 10000000000u;
	c->ring_bytes = 1u << 20;
	c->max_frames = 64;
	c->fork_mode = HC_FORK_TRACE;
	c->zstd_level = 3;
	c->python = 1;
	const char *pm = secure_getenv("PYTHONMALLOC");
	if (pm)
		hc_fmt(c->pymalloc, sizeof(c->pymalloc), "%s", pm);

	/* Walk the environment so that unknown HEAPCREEP_ names (typos) are
	 * caught, but read values through secure_getenv. */
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, "HEAPCREEP_", 10))
			continue;
		char name[64];
		size_t len = strcspn(*e, "=");
		if (len >= sizeof(name)) {
			hc_log("unknown variable '%s'; tracing off", *e);
			return -1;
		}
		memcpy(name, *e, len);
		name[len] = '\0';
		const char *v = secure_getenv(name);
		if (!v)
			return -1; /* secure execution: stay off, silently as libc does */
		uint64_t u;
		long l;
		if (!strcmp(name, "HEAPCREEP_OUTPUT")) {
			/* Made absolute now: the program may chdir before a
			 * fork child opens its own trace. */
			size_t dir = 0;
			if (*v != '/' && getcwd(c->output, sizeof(c->output))) {
				dir = strlen(c->output);
				c->output[dir++] = '/';
			}
			if (!*v || dir + strlen(v) >= sizeof(c->output))
				return bad(name, v, "a file path (%p for the pid)");
			strcpy(c->output + dir, v);
		} else if (!strcmp(name, "HEAPCREEP_SAMPLE")) {
			if (hc_parse_size(v, &u) || u > (1ull << 40))
				return bad(name, v, "a size such as 512K (0: every allocation)");
			c->sample_bytes = u;
		} else if (!strcmp(name, "HEAPCREEP_PROMOTE")) {
			if (hc_parse_duration(v, &u) || u < 1000000u || u > 3600000000000u)
				return bad(name, v, "a duration from 1ms to 1h such as 2s");
			c->promotion_ns = u;
		} else if (!strcmp(name, "HEAPCREEP_INTERVAL")) {
			if (hc_parse_duration(v, &u) || u < 10000000u || u > 3600000000000u)
				return bad(name, v, "a duration from 10ms to 1h such as 1s");
			c->interval_ns = u;
		} else if (!strcmp(name, "HEAPCREEP_WAIT")) {
			if (hc_parse_duration(v, &u) || u > 3600000000000u)
				return bad(name, v, "a duration up to 1h such as 10s");
			c->wait_ns = u;
		} else if (!strcmp(name, "HEAPCREEP_RING")) {
			if (hc_parse_size(v, &u) || u < (64u << 10) || u > (256u << 20) || (u & (u - 1)))
				return bad(name, v, "a power of two from 64K to 256M");
			c->ring_bytes = (size_t)u;
		} else if (!strcmp(name, "HEAPCREEP_FRAMES")) {
			if (parse_int(v, 1, HC_MAX_FRAMES, &l))
				return bad(name, v, "a frame count from 1 to 256");
			c->max_frames = (int)l;
		} else if (!strcmp(name, "HEAPCREEP_FORK")) {
			if (!strcmp(v, "trace"))
				c->fork_mode = HC_FORK_TRACE;
			else if (!strcmp(v, "off"))
				c->fork_mode = HC_FORK_OFF;
			else
				return bad(name, v, "'trace' or 'off'");
		} else if (!strcmp(name, "HEAPCREEP_PYTHON")) {
			if (parse_int(v, 0, 1, &l))
				return bad(name, v, "1 (walk Python frames) or 0 (native frames only)");
			c->python = (int)l;
		} else if (!strcmp(name, "HEAPCREEP_PROGRESS")) {
			continue; /* the analyzer's progress line: nothing here */
		} else if (!strcmp(name, "HEAPCREEP_DORMANT")) {
			if (parse_int(v, 0, 1, &l))
				return bad(name, v, "1 (record nothing until switched on) or 0");
			c->dormant = (int)l;
		} else if (!strcmp(name, "HEAPCREEP_CONTROL")) {
			if (*v != '/' || strlen(v) + 32 >= sizeof(c->control))
				return bad(name, v, "an absolute directory path");
			strcpy(c->control, v);
		} else if (!strcmp(name, "HEAPCREEP_COMPRESS")) {
			if (parse_int(v, 0, 19, &l))
				return bad(name, v, "a zstd level from 0 (off) to 19");
			c->zstd_level = (int)l;
		} else if (!strcmp(name, "HEAPCREEP_CLOCK")) {
			if (!strcmp(v, "auto"))
				c->clock = HC_CLOCK_AUTO;
			else if (!strcmp(v, "tsc"))
				c->clock = HC_CLOCK_TSC;
			else if (!strcmp(v, "monotonic"))
				c->clock = HC_CLOCK_MONOTONIC;
			else
				return bad(name, v, "auto, tsc or monotonic");
		} else {
			hc_log("unknown variable '%s'; tracing off", name);
			return -1;
		}
		note(name, v);
	}
	if (!c->control[0])
		hc_fmt(c->control, sizeof(c->control), "/tmp/heapcreep-%u", (unsigned)geteuid());
	if (c->promotion_ns < c->interval_ns / 4)
		c->promotion_ns = c->interval_ns / 4; /* promotion is checked at snapshots */
	return 0;
}
