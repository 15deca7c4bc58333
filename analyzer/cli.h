/* The commands of heapcreep-cli, each defined in its own file and listed in
 * main.c's table. A command gets argv[0] = its own name and returns the exit
 * status: 0 success, 2 bad input or usage (gate adds 1: leak found). Every
 * message names the program "heapcreep", whatever the binary is called.
 */
#ifndef HC_CLI_H
#define HC_CLI_H

#include <stdarg.h>
#include <stdio.h>

#define HC_PROG "heapcreep"
#define HC_EXIT_USAGE 2

int hc_cmd_run(int argc, char **argv);    /* run.c */
int hc_cmd_report(int argc, char **argv); /* report.c */
int hc_cmd_dump(int argc, char **argv);   /* dump.c */
int hc_cmd_gate(int argc, char **argv);   /* gate.c */
int hc_cmd_soak(int argc, char **argv);   /* soak.c */
int hc_cmd_diff(int argc, char **argv);   /* diff.c */
int hc_cmd_symbolize(int argc, char **argv); /* symbolize.c */
int hc_cmd_stacks(int argc, char **argv);  /* stacks.c */
int hc_cmd_on(int argc, char **argv);      /* window.c */
int hc_cmd_off(int argc, char **argv);     /* window.c */

/* The command line of a command that takes one trace and no options but
 * --help: 0 and *path set, 1 when help was printed (exit 0), -1 after a
 * usage message (exit HC_EXIT_USAGE). */
int hc_one_trace_arg(int argc, char **argv, const char *usage, const char **path);

/* One error line on stderr: "heapcreep: <message>" (lowercase, no full stop). */
static inline void hc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void hc_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(HC_PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

#endif
