/* Record decoding (see decode.h): one function per record type, reading the
 * fields in the order include/heapcreep/trace.h lists them. It must never
 * read past a record body nor trust a count from the file to size anything.
 */
#include "decode.h"

#include <stdio.h>
#include <string.h>

static int str(struct hc_cur *c, struct hc_str *s)
{
	return hc_cur_str(c, &s->p, &s->len);
}

/* Reads n unsigned fields into v[0..n-1]. */
static int fields(struct hc_cur *c, uint64_t *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hc_cur_u(c, v[i]))
			return -1;
	return 0;
}

#define FIELDS(c, ...) \
	fields((c), (uint64_t *const[]){__VA_ARGS__}, \
	       sizeof((uint64_t *const[]){__VA_ARGS__}) / sizeof(uint64_t *))

const char *hc_record_name(uint64_t type)
{
	switch (type) {
	case HC_REC_HEADER: return "HEADER";
	case HC_REC_MODULES: return "MODULES";
	case HC_REC_STACK: return "STACK";
	case HC_REC_THREAD: return "THREAD";
	case HC_REC_BLOCK: return "BLOCK";
	case HC_REC_FREE: return "FREE";
	case HC_REC_SNAPSHOT: return "SNAPSHOT";
	case HC_REC_SITES: return "SITES";
	case HC_REC_EXIT: return "EXIT";
	case HC_REC_END: return "END";
	case HC_REC_NOTE: return "NOTE";
	case HC_REC_EXEC: return "EXEC";
	case HC_REC_SYMBOLS: return "SYMBOLS";
	case HC_REC_CODE: return "CODE";
	case HC_REC_PYTHON: return "PYTHON";
	}
	return NULL;
}

int hc_decode_header(const struct hc_rec *rec, struct hc_header_rec *h)
{
	struct hc_cur c = hc_cur_of(rec);
	if (FIELDS(&c, &h->version, &h->pid, &h->ppid, &h->exec_seq, &h->start_realtime_ns,
		   &h->start_monotonic_ns, &h->page_size, &h->cgroup_limit_bytes, &h->flags,
		   &h->sample_bytes, &h->promotion_ns, &h->interval_ns))
		return -1;
	if (str(&c, &h->exe) || str(&c, &h->cmdline) || str(&c, &h->exe_build_id) ||
	    str(&c, &h->config))
		return -1;
	h->process_start_realtime_ns = h->window = 0;
	if (c.p != c.end && FIELDS(&c, &h->process_start_realtime_ns, &h->window))
		return -1;
	return 0;
}

int hc_decode_snapshot(const struct hc_rec *rec, struct hc_snapshot_rec *s)
{
	struct hc_cur c = hc_cur_of(rec);
	if (FIELDS(&c, &s->ts, &s->rss_bytes, &s->heap_live_bytes, &s->heap_live_blocks,
		   &s->heap_peak_bytes, &s->total_allocs, &s->total_frees,
		   &s->total_bytes_allocated, &s->events, &s->lost_events, &s->ring_waits,
		   &s->unknown_frees, &s->shim_bytes))
		return -1;
	s->collector_cpu_ns = s->process_cpu_ns = s->mapped_live_bytes = 0;
	s->have_cpu = s->have_mapped = 0;
	if (c.p == c.end)
		return 0; /* written before the CPU times were added */
	if (FIELDS(&c, &s->collector_cpu_ns, &s->process_cpu_ns))
		return -1;
	s->have_cpu = 1;
	if (c.p == c.end)
		return 0; /* written before anonymous mappings were traced */
	if (FIELDS(&c, &s->mapped_live_bytes))
		return -1;
	s->have_mapped = 1;
	s->unknown_free_bytes = 0;
	if (c.p != c.end && FIELDS(&c, &s->unknown_free_bytes))
		return -1;
	return 0; /* later fields: a newer writer's, ignored */
}

int hc_decode_thread(const struct hc_rec *rec, struct hc_thread_rec *t)
{
	struct hc_cur c = hc_cur_of(rec);
	return FIELDS(&c, &t->ts, &t->tid) || str(&c, &t->name) ? -1 : 0;
}

int hc_decode_block(const struct hc_rec *rec, struct hc_block_rec *b)
{
	struct hc_cur c = hc_cur_of(rec);
	return FIELDS(&c, &b->id_delta, &b->stack, &b->size, &b->ts, &b->addr);
}

int hc_decode_free(const struct hc_rec *rec, struct hc_free_rec *f)
{
	struct hc_cur c = hc_cur_of(rec);
	return FIELDS(&c, &f->id, &f->ts);
}

int hc_decode_exit(const struct hc_rec *rec, struct hc_exit_rec *e)
{
	struct hc_cur c = hc_cur_of(rec);
	return FIELDS(&c, &e->ts, &e->how);
}

int hc_decode_end(const struct hc_rec *rec, struct hc_end_rec *e)
{
	struct hc_cur c = hc_cur_of(rec);
	e->signal = 0;
	if (FIELDS(&c, &e->ts, &e->reason))
		return -1;
	return e->reason == HC_END_SIGNAL ? FIELDS(&c, &e->signal) : 0;
}

int hc_decode_note(const struct hc_rec *rec, struct hc_note_rec *n)
{
	struct hc_cur c = hc_cur_of(rec);
	return FIELDS(&c, &n->ts, &n->level) || str(&c, &n->message) ? -1 : 0;
}

int hc_decode_exec(const struct hc_rec *rec, struct hc_exec_rec *e)
{
	struct hc_cur c = hc_cur_of(rec);
	return hc_cur_u(&c, &e->ts) || str(&c, &e->path) ? -1 : 0;
}

int hc_decode_modules_begin(const struct hc_rec *rec, struct hc_cur *c, uint64_t *ts,
			    uint64_t *count)
{
	*c = hc_cur_of(rec);
	return FIELDS(c, ts, count);
}

int hc_decode_module(struct hc_cur *c, struct hc_module_rec *m)
{
	if (FIELDS(c, &m->start, &m->end, &m->file_offset))
		return -1;
	return str(c, &m->path) || str(c, &m->build_id) ? -1 : 0;
}

int hc_decode_stack_begin(const struct hc_rec *rec, struct hc_cur *c, uint64_t *id,
			  uint64_t *nframes)
{
	*c = hc_cur_of(rec);
	return FIELDS(c, id, nframes);
}

int hc_decode_frame(struct hc_cur *c, uint64_t *addr)
{
	int64_t d;
	if (hc_cur_s(c, &d))
		return -1;
	*addr += (uint64_t)d; /* wraps like the writer's subtraction did */
	return 0;
}

int hc_decode_sites_begin(const struct hc_rec *rec, struct hc_cur *c, uint64_t *count)
{
	*c = hc_cur_of(rec);
	return hc_cur_u(c, count);
}

int hc_decode_site(struct hc_cur *c, struct hc_site_rec *s)
{
	uint64_t nhist;
	if (FIELDS(c, &s->stack, &s->live_bytes, &s->live_blocks, &s->allocs, &s->frees,
		   &s->bytes_allocated, &s->peak_live_bytes, &nhist))
		return -1;
	if (nhist > HC_HIST_BUCKETS)
		return -1;
	s->nhist = (unsigned)nhist;
	for (unsigned i = 0; i < s->nhist; i++) {
		uint64_t bucket;
		if (hc_cur_u(c, &bucket) || bucket >= HC_HIST_BUCKETS ||
		    hc_cur_u(c, &s->hist[i].count))
			return -1;
		s->hist[i].bucket = (unsigned)bucket;
	}
	return 0;
}

int hc_decode_symbols_begin(const struct hc_rec *rec, struct hc_cur *c, uint64_t *count)
{
	*c = hc_cur_of(rec);
	return hc_cur_u(c, count);
}

int hc_decode_symbol(struct hc_cur *c, uint64_t *addr, uint64_t *nframes)
{
	return FIELDS(c, addr, nframes);
}

int hc_decode_symbol_frame(struct hc_cur *c, struct hc_symbol_frame_rec *f)
{
	if (str(c, &f->function) || str(c, &f->file))
		return -1;
	return hc_cur_u(c, &f->line);
}

int hc_decode_code(const struct hc_rec *rec, struct hc_code_rec *k)
{
	struct hc_cur c = hc_cur_of(rec);
	if (hc_cur_u(&c, &k->id) || hc_cur_s(&c, &k->firstlineno) || hc_cur_u(&c, &k->flags))
		return -1;
	if (str(&c, &k->qualname) || str(&c, &k->filename) || str(&c, &k->linetable))
		return -1;
	return k->id == 0 || k->id >= (1u << 30) ? -1 : 0;
}

int hc_decode_python(const struct hc_rec *rec, struct hc_python_rec *p)
{
	struct hc_cur c = hc_cur_of(rec);
	if (FIELDS(&c, &p->version, &p->eval_lo, &p->eval_hi))
		return -1;
	return str(&c, &p->path) || str(&c, &p->pymalloc) ? -1 : 0;
}

int hc_args_next(struct hc_args *it, struct hc_str *arg)
{
	if (it->done)
		return 0;
	const char *nul = memchr(it->rest.p, '\0', it->rest.len);
	arg->p = it->rest.p;
	if (!nul) { /* the last argument */
		arg->len = it->rest.len;
		it->done = 1;
		return 1;
	}
	arg->len = (size_t)(nul - it->rest.p);
	it->rest.p = nul + 1;
	it->rest.len -= arg->len + 1;
	return 1;
}

const char *hc_exit_how_name(uint64_t how)
{
	switch (how) {
	case HC_EXIT_CALL: return "exit";
	case HC_EXIT_MAIN: return "main";
	}
	return NULL;
}

const char *hc_end_reason_name(uint64_t reason)
{
	switch (reason) {
	case HC_END_EXIT: return "exit";
	case HC_END_EXEC: return "exec";
	case HC_END_STOPPED: return "stopped";
	case HC_END_SIGNAL: return "signal";
	case HC_END_WINDOW: return "window";
	}
	return NULL;
}

const char *hc_end_text(uint64_t reason, uint64_t signal, char *buf, size_t cap)
{
	if (reason != HC_END_SIGNAL)
		return reason == HC_END_EXEC	 ? "exec"
		       : reason == HC_END_WINDOW ? "the window's end"
						 : "exit";
	const char *abbrev = signal < 1024 ? sigabbrev_np((int)signal) : NULL;
	if (abbrev)
		snprintf(buf, cap, "SIG%s", abbrev);
	else
		snprintf(buf, cap, "signal %llu", (unsigned long long)signal);
	return buf;
}

const char *hc_note_level_name(uint64_t level)
{
	switch (level) {
	case HC_NOTE_INFO: return "info";
	case HC_NOTE_WARNING: return "warning";
	case HC_NOTE_ERROR: return "error";
	}
	return NULL;
}
