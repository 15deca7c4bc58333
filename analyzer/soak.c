/* `heapcreep soak --duration D [--grace G] [run options] [gate options] --
 * CMD...`: runs the command under the shim for D (a soak test in CI), then
 * SIGTERM to it and what it started, SIGKILL after the grace period (10 s),
 * and gates the trace. Exits as `gate`: 0 no leak, 1 leak, 2 bad input or
 * usage (also when the command could not be run or left no trace).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "cli.h"
#include "analysis.h"
#include "gate.h"
#include "heapcreep/units.h"
#include "run.h"

static const char usage_line[] =
	"usage: " HC_PROG " soak --duration DURATION [--grace DURATION] [-o FILE]\n"
	"       [--sample BYTES] [--allocator NAME] [--budget BYTES] [--horizon DURATION]\n"
	"       [--limit BYTES] [--junit FILE] [--strict] [--baseline BASE]\n"
	"       -- COMMAND [ARGS...]";

int hc_cmd_soak(int argc, char **argv)
{
	struct hc_run_opts run = {0};
	struct hc_detect_opts det;
	hc_detect_defaults(&det);
	const char *junit = NULL, *baseline = NULL;
	int strict = 0, i = 1;
	run.grace_s = 10;
	run.out = "soak.hct";
	for (; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		uint64_t ns;
		if (!strcmp(a, "--duration") || !strcmp(a, "--grace")) {
			if (!v || hc_parse_duration(v, &ns)) {
				hc_err("soak: bad %s '%s': expected a duration such as 10min", a,
				       v ? v : "");
				goto usage;
			}
			*(!strcmp(a, "--duration") ? &run.duration_s : &run.grace_s) = (double)ns / 1e9;
			i++;
			continue;
		}
		if (!strcmp(a, "--strict")) {
			strict = 1;
			continue;
		}
		if (!strcmp(a, "--junit")) {
			if (!v)
				goto usage;
			junit = v;
			i++;
			continue;
		}
		if (!strcmp(a, "--baseline")) {
			if (!v)
				goto usage;
			baseline = v;
			i++;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("%s\n", usage_line);
			return 0;
		}
		int took = hc_analysis_option(&det, a, v);
		if (!took)
			took = hc_run_option(&run, a, v);
		if (took < 0)
			goto usage;
		if (!took) {
			hc_err("soak: unknown option '%s'", a);
			goto usage;
		}
		i += took - 1;
	}
	if (run.duration_s <= 0) {
		hc_err("soak: --duration is required");
		goto usage;
	}
	if (i >= argc || hc_run_check(&run))
		goto usage;
	int rc = hc_run(&run, argv + i);
	if (rc)
		return rc;
	if (WIFEXITED(run.status) && (WEXITSTATUS(run.status) == 126 || WEXITSTATUS(run.status) == 127) &&
	    !run.trace[0])
		return HC_EXIT_USAGE; /* the command could not be run: said already */
	if (WIFEXITED(run.status) && WEXITSTATUS(run.status) != 0)
		hc_err("soak: the command exited with status %d before the end of the soak",
		       WEXITSTATUS(run.status));
	else if (WIFSIGNALED(run.status) && WTERMSIG(run.status) != SIGTERM &&
		 WTERMSIG(run.status) != SIGKILL)
		hc_err("soak: the command died of signal %d", WTERMSIG(run.status));
	if (!run.trace[0]) {
		hc_err("soak: no trace to judge");
		return HC_EXIT_USAGE;
	}
	return hc_gate_trace(run.trace, &det, strict, junit, baseline);
usage:
	fprintf(stderr, "%s\n", usage_line);
	return HC_EXIT_USAGE;
}
