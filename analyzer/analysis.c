/* Reading and analysing one trace for the reports and the gate
 * (analysis.h). The symbolizer is fed from the model's second pass, so the
 * trace is read three times in all, never held in memory.
 */
#include "analysis.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "format.h"
#include "heapcreep/trace.h"
#include "heapcreep/units.h"

static int feed_symbols(void *ctx, const struct hc_rec *rec)
{
	struct hc_analysis *a = ctx;
	if (rec->type == HC_REC_MODULES)
		return hc_symbols_add_modules(a->sym, rec);
	if (rec->type == HC_REC_SYMBOLS)
		return hc_symbols_add_stored(a->sym, rec);
	return 0;
}

int hc_analysis_open(struct hc_analysis *a, const char *path, const struct hc_detect_opts *o)
{
	memset(a, 0, sizeof(*a));
	a->path = path;
	a->opts = *o;
	a->sym = hc_symbols_new();
	if (!a->sym)
		return -ENOMEM;
	int rc = hc_model_build(&a->model, path, feed_symbols, a);
	if (a->model.sum.status == HC_READ_BAD_FILE || rc == -ENOMEM)
		return rc ? rc : -EIO;
	a->built = 1;
	hc_liveness(&a->model.sum, &a->live);
	hc_symbols_set_python(a->sym, &a->model.py);
	int d = hc_detect_run(&a->model, &a->opts, &a->det);
	return d ? d : rc;
}

int hc_analysis_load(struct hc_analysis *a, const char *path, const struct hc_detect_opts *o)
{
	int rc = hc_analysis_open(a, path, o);
	if (!a->built) {
		hc_err("'%s': %s", path, a->model.sum.message[0] ? a->model.sum.message
								 : strerror(-rc));
		hc_analysis_close(a);
	}
	return rc;
}

void hc_analysis_close(struct hc_analysis *a)
{
	hc_detect_release(&a->det);
	hc_model_release(&a->model);
	if (a->sym)
		hc_symbols_free(a->sym);
	memset(a, 0, sizeof(*a));
}

int hc_analysis_option(struct hc_detect_opts *o, const char *name, const char *value)
{
	uint64_t v;
	if (!strcmp(name, "--budget") || !strcmp(name, "--limit")) {
		if (!value || hc_parse_size(value, &v) || v == 0) {
			hc_err("bad %s '%s': expected a size such as 64M", name, value ? value : "");
			return -1;
		}
		*(!strcmp(name, "--budget") ? &o->budget : &o->limit) = (double)v;
		return 2;
	}
	if (!strcmp(name, "--horizon")) {
		if (!value || hc_parse_duration(value, &v) || v < 1000000000ull) {
			hc_err("bad --horizon '%s': expected a duration such as 24h", value ? value : "");
			return -1;
		}
		o->horizon_s = (double)v / 1e9;
		return 2;
	}
	return 0;
}

int hc_analysis_window(const struct hc_analysis *a, char *buf, size_t cap)
{
	const struct hc_summary *s = &a->model.sum;
	buf[0] = '\0';
	if (!s->have_header || !(s->header.flags & HC_HDR_WINDOW))
		return 0;
	char when[64] = "", after[32], freed[32];
	time_t t0 = (time_t)(s->header.start_realtime_ns / 1000000000u);
	struct tm tm;
	if (gmtime_r(&t0, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	size_t k = (size_t)snprintf(buf, cap, "window %llu of a dormant process, from %s",
				    (unsigned long long)s->header.window, when);
	uint64_t p0 = s->header.process_start_realtime_ns;
	if (p0 && p0 <= s->header.start_realtime_ns && k < cap)
		k += (size_t)snprintf(buf + k, cap - k, ", %s after the process started",
				      hc_fmt_duration(after, sizeof(after),
						      (double)(s->header.start_realtime_ns - p0) / 1e9));
	if (k < cap)
		snprintf(buf + k, cap - k,
			 "; blocks allocated before it are unknown (%llu of them freed in it, %s)",
			 (unsigned long long)s->last.unknown_frees,
			 hc_fmt_bytes(freed, sizeof(freed), (double)s->last.unknown_free_bytes));
	return 1;
}

int hc_analysis_python(const struct hc_analysis *a, char *buf, size_t cap)
{
	const struct hc_pycodes *py = &a->model.py;
	buf[0] = '\0';
	if (!py->version)
		return 0;
	char v[32];
	hc_pyversion(v, sizeof(v), py->version);
	size_t k = (size_t)snprintf(buf, cap, "%s: its frames in %llu stacks", v,
				    (unsigned long long)py->stacks);
	if (py->fallbacks && k < cap)
		k += (size_t)snprintf(buf + k, cap - k,
				      " (%llu not interleaved with the native frames: shown after them)",
				      (unsigned long long)py->fallbacks);
	const char *pm = py->pymalloc ? py->pymalloc : "";
	if (k >= cap)
		return 1;
	if (hc_pycodes_every_object(py))
		snprintf(buf + k, cap - k, "; every object traced (PYTHONMALLOC=%s)", pm);
	else
		snprintf(buf + k, cap - k,
			 "; pymalloc kept (PYTHONMALLOC=%s): objects of 512 bytes or less are "
			 "traced by their arenas ([anonymous mmap] sites), not one by one "
			 "(heapcreep run sets PYTHONMALLOC=malloc unless --pymalloc)",
			 *pm ? pm : "unset");
	return 1;
}

/* The display lines of frames[0..nf), inlined frames expanded. */
static size_t frames_out(struct hc_analysis *a, const uint64_t *frames, uint32_t nf, size_t max,
			 int inner, void (*fn)(void *ctx, const struct hc_frame_out *f), void *ctx)
{
	size_t lines = 0;
	for (uint32_t i = 0; i < nf && lines < max; i++) {
		struct hc_sym_frame sf[HC_SYM_MAX_FRAMES];
		struct hc_sym_where where = {0};
		int k = a->sym ? hc_symbols_resolve(a->sym, frames[i], sf, HC_SYM_MAX_FRAMES, &where)
			       : 0;
		struct hc_frame_out out = {.address = frames[i],
					   .module = where.module,
					   .offset = where.offset,
					   .python = hc_pydisplay_is(frames[i]),
					   .mmap = hc_frame_is_mmap(frames[i]),
					   .inner = inner};
		if (k <= 0) {
			fn(ctx, &out);
			lines++;
			continue;
		}
		for (int j = 0; j < k && lines < max; j++, lines++) {
			out.function = sf[j].function;
			out.file = sf[j].file;
			out.line = sf[j].line;
			out.inlined = j + 1 < k;
			fn(ctx, &out);
		}
	}
	return lines;
}

void hc_analysis_frames(struct hc_analysis *a, const struct hc_node *n, size_t max,
			void (*fn)(void *ctx, const struct hc_frame_out *f), void *ctx)
{
	const struct hc_site *site = &a->model.sites[n->site];
	/* A node over several stacks shares only its own depth of frames. */
	uint32_t nf = n->nsites > 1 && n->depth < site->nframes ? n->depth : site->nframes;
	frames_out(a, site->frames, nf, max, 0, fn, ctx);
}

void hc_analysis_key_frames(struct hc_analysis *a, const struct hc_node *n,
			    void (*fn)(void *ctx, const struct hc_frame_out *f), void *ctx)
{
	const struct hc_site *site = &a->model.sites[n->site];
	uint32_t nf = n->depth < site->nframes ? n->depth : site->nframes;
	frames_out(a, site->frames, nf, SIZE_MAX, 0, fn, ctx);
}

void hc_analysis_full(struct hc_analysis *a, const struct hc_node *n, size_t max,
		      void (*fn)(void *ctx, const struct hc_frame_out *f), void *ctx)
{
	const struct hc_site *site = &a->model.sites[n->site];
	if (n->nsites > 1 || site->full == site->frames) {
		hc_analysis_frames(a, n, max, fn, ctx);
		return;
	}
	size_t lines = frames_out(a, site->full, site->ninner, max, 1, fn, ctx);
	if (lines < max)
		frames_out(a, site->full + site->ninner, site->nfull - site->ninner, max - lines, 0, fn,
			   ctx);
}

size_t hc_analysis_inner(struct hc_analysis *a, const struct hc_node *n, size_t max,
			 void (*fn)(void *ctx, const struct hc_frame_out *f), void *ctx)
{
	const struct hc_site *site = &a->model.sites[n->site];
	if (n->nsites > 1 || !site->ninner)
		return 0;
	frames_out(a, site->inner, site->ninner, max, 1, fn, ctx);
	return site->ninner;
}
