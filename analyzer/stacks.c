/* `heapcreep stacks TRACE`: the stacks of the trace's long-lived blocks
 * (those written as BLOCK records), merged with their Python frames and
 * symbolized as every report shows them, one tab-separated line a frame:
 * for a person asking what allocated a block, and for the golden tests of
 * the Python frames, which compare them with what the program saw.
 *
 *   stack <id> <blocks> <bytes> <sizes, comma-separated, the first 16>
 *   frame <python|native> <inner|outer> <function> <file> <line>
 * "inner": a native frame inside the innermost Python frame.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "cli.h"
#include "decode.h"
#include "report.h"

static const char usage_line[] = "usage: " HC_PROG " stacks TRACE";

#define SIZES_SHOWN 16

struct blocks_of {
	uint64_t n, bytes;
	uint64_t size[SIZES_SHOWN];
};

static void put_field(FILE *f, const char *s)
{
	putc('\t', f);
	for (; s && *s; s++) /* a tab or newline in a name would break the line */
		putc(*s == '\t' || *s == '\n' ? ' ' : *s, f);
}

static void frame_line(void *ctx, const struct hc_frame_out *fo)
{
	FILE *f = ctx;
	fprintf(f, "frame\t%s\t%s", fo->python ? "python" : "native", fo->inner ? "inner" : "outer");
	if (fo->function) {
		put_field(f, fo->function);
	} else {
		char b[64];
		snprintf(b, sizeof(b), "[unknown] 0x%" PRIx64, fo->module ? fo->offset : fo->address);
		put_field(f, b);
	}
	put_field(f, fo->file ? fo->file : fo->module);
	fprintf(f, "\t%u\n", fo->line);
}

int hc_cmd_stacks(int argc, char **argv)
{
	const char *path;
	int rc = hc_one_trace_arg(argc, argv, usage_line, &path);
	if (rc)
		return rc > 0 ? 0 : HC_EXIT_USAGE;
	struct hc_detect_opts opts;
	hc_detect_defaults(&opts);
	struct hc_analysis an;
	rc = hc_analysis_load(&an, path, &opts);
	if (!an.built)
		return HC_EXIT_USAGE;
	int status = hc_report_status(&an, rc);
	const struct hc_model *m = &an.model;
	struct blocks_of *per = calloc(m->nsites ? m->nsites : 1, sizeof(*per));
	if (!per) {
		hc_err("stacks: %s", strerror(ENOMEM));
		hc_analysis_close(&an);
		return HC_EXIT_USAGE;
	}
	struct hc_reader r;
	struct hc_rec rec;
	if (hc_reader_open(&r, path) == 0) {
		while (hc_reader_next(&r, &rec) > 0) {
			struct hc_block_rec b;
			if (rec.type != HC_REC_BLOCK || hc_decode_block(&rec, &b) || b.stack >= m->nsites)
				continue;
			struct blocks_of *x = &per[b.stack];
			if (x->n < SIZES_SHOWN)
				x->size[x->n] = b.size;
			x->n++;
			x->bytes += b.size;
		}
	}
	hc_reader_close(&r);
	/* A node for each site alone: its own stack, whole. */
	for (size_t i = 0; i < m->nsites; i++) {
		if (!per[i].n)
			continue;
		printf("stack\t%zu\t%" PRIu64 "\t%" PRIu64 "\t", i, per[i].n, per[i].bytes);
		for (uint64_t k = 0; k < per[i].n && k < SIZES_SHOWN; k++)
			printf("%s%" PRIu64, k ? "," : "", per[i].size[k]);
		putchar('\n');
		struct hc_node one = {.site = (uint32_t)i, .nsites = 1, .depth = m->sites[i].nframes};
		hc_analysis_inner(&an, &one, 1024, frame_line, stdout);
		hc_analysis_frames(&an, &one, 1024, frame_line, stdout);
	}
	free(per);
	hc_analysis_close(&an);
	return status;
}
