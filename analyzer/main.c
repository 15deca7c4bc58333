/* heapcreep-cli, the analyzer's entry point: `heapcreep-cli COMMAND ARGS...`
 * (the `heapcreep` script runs it). It only dispatches through the command
 * table; it must never hold command logic of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"run", hc_cmd_run, "run a command under the tracer and write a trace"},
	{"report", hc_cmd_report, "find the growing retained sets in a trace (-f text|json|html|pprof|folded)"},
	{"gate", hc_cmd_gate, "pass/fail for CI: exit 1 when a retained set keeps growing"},
	{"diff", hc_cmd_diff, "compare the growth of each allocation site between two traces"},
	{"soak", hc_cmd_soak, "run a command for a while under the tracer, then gate its trace"},
	{"dump", hc_cmd_dump, "print every record of a trace, one per line"},
	{"stacks", hc_cmd_stacks, "print the merged, symbolized stacks of a trace's long-lived blocks"},
	{"symbolize", hc_cmd_symbolize, "store the symbols of a trace's stacks in the trace"},
	{"on", hc_cmd_on, "start a tracing window in a dormant process (run --dormant)"},
	{"off", hc_cmd_off, "end the tracing window of a dormant process"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: " HC_PROG " COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'" HC_PROG " COMMAND --help' shows a command's options\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return HC_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		/* `help COMMAND` is `COMMAND --help` */
		const struct command *c = argc > 2 ? find(argv[2]) : NULL;
		if (c) {
			char *args[] = {argv[2], "--help", NULL};
			return c->fn(2, args);
		}
		if (argc > 2) {
			hc_err("unknown command '%s'", argv[2]);
			return HC_EXIT_USAGE;
		}
		usage(stdout);
		return 0;
	}
	const struct command *c = find(name);
	if (!c) {
		hc_err("unknown command '%s'", name);
		usage(stderr);
		return HC_EXIT_USAGE;
	}
	int rc = c->fn(argc - 1, argv + 1);
	/* Output is buffered: a full disk or a closed pipe shows up here. */
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		hc_err("cannot write to standard output%s%s", errno ? ": " : "",
		       errno ? strerror(errno) : "");
		return HC_EXIT_USAGE;
	}
	return rc;
}
