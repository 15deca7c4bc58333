/* `heapcreep report [-f text|json] [-o OUT] TRACE`: reads the trace once and
 * writes the chosen format. It owns the exit status and the stderr lines; a
 * truncated trace is reported (exit 0, with a warning), a corrupt one too,
 * but exits 2. It must never leave a partial OUT behind and exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report.h"
#include "summary.h"

static const char usage_line[] = "usage: " HC_PROG " report [-f text|json] [-o OUT] TRACE";

static int usage_error(void)
{
	fprintf(stderr, "%s\n", usage_line);
	return HC_EXIT_USAGE;
}

int hc_cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *format = "text", *out_path = NULL;
	int opt;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			format = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			printf("%s\n", usage_line);
			return 0;
		case ':':
			hc_err("report: option '%s' needs a value", argv[optind - 1]);
			return usage_error();
		default:
			hc_err("report: unknown option '%s'", argv[optind - 1]);
			return usage_error();
		}
	}
	if (argc - optind != 1)
		return usage_error();
	const char *path = argv[optind];

	void (*write_report)(FILE *, const struct hc_summary *, const char *);
	if (strcmp(format, "text") == 0) {
		write_report = hc_report_text;
	} else if (strcmp(format, "json") == 0) {
		write_report = hc_report_json;
	} else if (strcmp(format, "html") == 0 || strcmp(format, "pprof") == 0 ||
		   strcmp(format, "folded") == 0) {
		hc_err("report: format '%s' is not supported yet", format);
		return HC_EXIT_USAGE;
	} else {
		hc_err("report: unknown format '%s' (text, json)", format);
		return usage_error();
	}

	struct hc_summary s;
	int rc = hc_summary_read(&s, path);
	if (!s.file_ok) {
		hc_err("'%s': %s", path, s.message);
		hc_summary_release(&s);
		return HC_EXIT_USAGE;
	}

	FILE *out = stdout;
	if (out_path) {
		out = fopen(out_path, "w");
		if (!out) {
			hc_err("cannot open '%s' for writing: %s", out_path, strerror(errno));
			hc_summary_release(&s);
			return HC_EXIT_USAGE;
		}
	}
	write_report(out, &s, path);
	if (out != stdout) { /* main() checks standard output for every command */
		int werr = fflush(out) != 0 || ferror(out);
		int saved = errno;
		if (fclose(out) != 0 && !werr) {
			werr = 1;
			saved = errno;
		}
		if (werr) {
			/* OUT is left as it is: it may be a device or a pipe, never
			 * ours to remove; the exit status says it is not a report. */
			hc_err("cannot write '%s': %s", out_path, strerror(saved));
			hc_summary_release(&s);
			return HC_EXIT_USAGE;
		}
	}

	int status = 0;
	if (s.status == HC_READ_TRUNCATED) {
		hc_err("'%s': %s; reporting what was read", path, s.message);
	} else if (rc < 0) {
		hc_err("'%s': %s", path, s.message);
		status = HC_EXIT_USAGE;
	} else if (!s.complete) {
		hc_err("'%s': trace is incomplete: no END record after byte offset %llu (the "
		       "process was killed or is still running); reporting what was read",
		       path, (unsigned long long)s.bytes_read);
	}
	hc_summary_release(&s);
	return status;
}
