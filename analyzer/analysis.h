/* One analysed trace, as every report format and the gate see it: the model
 * (model.c), the detection results (detect.c) and a symbolizer over the
 * trace's modules and stored symbols (symbols.c). Also the command-line
 * options the analysing commands share (--budget, --horizon, --limit).
 */
#ifndef HC_ANALYSIS_H
#define HC_ANALYSIS_H

#include "liveness.h"
#include "detect.h"
#include "model.h"
#include "symbols.h"

struct hc_analysis {
	const char *path;
	struct hc_model model;
	struct hc_detect det;
	struct hc_detect_opts opts;
	struct hc_symbols *sym;
	int built;            /* the model could be built: figures mean something */
	struct hc_liveness live; /* whether its process runs on, as it was read */
	int show_inner;       /* list the native frames inside Python ones (--native) */
};

/* Reads and analyses path. Returns 0 when the trace could be analysed
 * (complete or truncated: see a->model.sum), -errno otherwise; the
 * summary's message says why. */
int hc_analysis_open(struct hc_analysis *a, const char *path, const struct hc_detect_opts *o);
/* hc_analysis_open for a command: when nothing could be built, says why on
 * stderr (naming path) and closes a, whose built is then 0. Returns
 * hc_analysis_open's status. */
int hc_analysis_load(struct hc_analysis *a, const char *path, const struct hc_detect_opts *o);
void hc_analysis_close(struct hc_analysis *a);

/* Takes one of the shared options: returns 2 when name takes the value
 * (consumed both), 0 when name is not one of them, -1 after an error line
 * for a bad value. */
int hc_analysis_option(struct hc_detect_opts *o, const char *name, const char *value);
#define HC_ANALYSIS_USAGE "[--budget BYTES] [--horizon DURATION] [--limit BYTES]"

/* One line on the traced interpreter for every report: its version
 * ("3.12.1: ..."), how its frames merged, and whether every object was
 * traced (pymalloc).
 * Returns 0 (buf empty) when the trace has no Python frames. */
int hc_analysis_python(const struct hc_analysis *a, char *buf, size_t cap);

/* One line on a trace that is a window of a dormant process's life
 * (heapcreep on/off): which window, when it began, how long after the
 * process started, and what is unknown (the blocks from before it, and how
 * many of them were freed in it). Returns 0 (buf empty) for a trace that
 * began with its process. */
int hc_analysis_window(const struct hc_analysis *a, char *buf, size_t cap);

/* Frames of a node for display, innermost first, inlined frames expanded:
 * calls fn for each, with the address it came from. Frames of the shim are
 * already gone. Stops after max lines. */
struct hc_frame_out {
	uint64_t address;
	const char *function; /* NULL: unknown */
	const char *file;
	unsigned line;
	const char *module;
	uint64_t offset;
	int inlined;          /* 1: inlined into the next frame */
	int python;           /* a Python frame (function, file and line) */
	int mmap;             /* the pseudo-frame of an anonymous mapping's site */
	int inner;            /* a native frame inside the innermost Python one */
};
void hc_analysis_frames(struct hc_analysis *a, const struct hc_node *n, size_t max,
			void (*fn)(void *ctx, const struct hc_frame_out *f), void *ctx);
/* The frames of a node's key: its innermost depth frames, whatever stacks
 * it covers (diff matches sites by them). */
void hc_analysis_key_frames(struct hc_analysis *a, const struct hc_node *n,
			    void (*fn)(void *ctx, const struct hc_frame_out *f), void *ctx);
/* With Python frames, every frame of a node's stack (the interpreter's own
 * C frames too), when the node is one stack's; else hc_analysis_frames. */
void hc_analysis_full(struct hc_analysis *a, const struct hc_node *n, size_t max,
		      void (*fn)(void *ctx, const struct hc_frame_out *f), void *ctx);
/* The native frames inside a node's innermost Python frame (the C code
 * that allocated for it: folded behind the Python frames in the reports),
 * innermost first; none unless the node is one stack's. Returns how many
 * there are (fn sees at most max lines). */
size_t hc_analysis_inner(struct hc_analysis *a, const struct hc_node *n, size_t max,
			 void (*fn)(void *ctx, const struct hc_frame_out *f), void *ctx);

#endif
