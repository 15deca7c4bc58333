/* `heapcreep symbolize TRACE`: resolves every frame address of the trace's
 * STACK records (on the host that ran the program, where its files are) and
 * appends the answers as SYMBOLS records, so the trace can be analysed
 * anywhere. It only ever appends whole chunks after the last whole chunk:
 * it never rewrites what the shim wrote, and never adds an address twice
 * (a second run adds only what the first could not resolve and now can).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "decode.h"
#include "hash.h"
#include "reader.h"
#include "symbolize.h"
#include "symbols.h"
#include "writer.h"

static const char usage_line[] = "usage: " HC_PROG " symbolize TRACE";

/* A SYMBOLS record holds at most this many addresses and about this many
 * body bytes, far below the reader's 16 MiB chunk limit. */
#define RECORD_ADDRS 10000
#define RECORD_BYTES (4u << 20)
#define ZSTD_LEVEL 3

/* The distinct frame addresses of the trace: an open-addressing set. */
struct addr_set {
	uint64_t *v;          /* slot value + 1; 0 is an empty slot */
	size_t cap, n;        /* cap is a power of two */
	int has_max;          /* UINT64_MAX cannot be stored as value + 1 */
};

static size_t slot_of(uint64_t a, size_t cap)
{
	return (size_t)hc_mix64(a) & (cap - 1);
}

static int set_add(struct addr_set *s, uint64_t a)
{
	if (a == UINT64_MAX) {
		s->has_max = 1;
		return 0;
	}
	if (2 * (s->n + 1) > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 4096;
		uint64_t *n = calloc(ncap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->v[i])
				continue;
			size_t j = slot_of(s->v[i] - 1, ncap);
			while (n[j])
				j = (j + 1) & (ncap - 1);
			n[j] = s->v[i];
		}
		free(s->v);
		s->v = n;
		s->cap = ncap;
	}
	size_t j = slot_of(a, s->cap);
	for (; s->v[j]; j = (j + 1) & (s->cap - 1))
		if (s->v[j] == a + 1)
			return 0;
	s->v[j] = a + 1;
	s->n++;
	return 0;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return (a > b) - (a < b);
}

/* The set's addresses in ascending order (a malloc'd array of *n). */
static uint64_t *set_sorted(const struct addr_set *s, size_t *n)
{
	uint64_t *a = malloc((s->n + 1) * sizeof(*a));
	if (!a)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < s->cap; i++)
		if (s->v[i])
			a[k++] = s->v[i] - 1;
	if (s->has_max)
		a[k++] = UINT64_MAX;
	qsort(a, k, sizeof(*a), cmp_u64);
	*n = k;
	return a;
}

static int add_stack(struct addr_set *set, const struct hc_rec *rec)
{
	struct hc_cur c;
	uint64_t id, n, addr = 0;
	if (hc_decode_stack_begin(rec, &c, &id, &n))
		return -EBADMSG;
	for (uint64_t i = 0; i < n; i++) {
		if (hc_decode_frame(&c, &addr))
			return -EBADMSG;
		if (hc_pyframe_is(addr) || hc_frame_is_mmap(addr))
			continue; /* a Python frame (CODE records name it), a mapping's mark */
		int rc = set_add(set, addr);
		if (rc)
			return rc;
	}
	return 0;
}

/* 1 when process pid (on this host) has the file st open: the shim is
 * still writing the trace, and chunks appended now would interleave with
 * its own. 0 when not, or when that cannot be seen (another user's). */
static int held_open_by(uint64_t pid, const struct stat *st)
{
	char dir[64], link[64 + 256 + 2];
	if (pid == 0 || pid > 0x7fffffff)
		return 0;
	snprintf(dir, sizeof(dir), "/proc/%llu/fd", (unsigned long long)pid);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int found = 0;
	for (struct dirent *e; !found && (e = readdir(d));) {
		struct stat fst;
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		found = stat(link, &fst) == 0 && fst.st_dev == st->st_dev && fst.st_ino == st->st_ino;
	}
	closedir(d);
	return found;
}

/* An address and its answer, to be written. */
struct item {
	uint64_t addr;
	size_t bytes;         /* about what it takes in a record body */
};

static void write_item(struct hc_writer *w, struct hc_symbols *syms, const struct item *it)
{
	struct hc_sym_frame fr[HC_SYM_MAX_FRAMES];
	int n = hc_symbols_resolve(syms, it->addr, fr, HC_SYM_MAX_FRAMES, NULL);
	hc_rec_u(w, it->addr);
	hc_rec_u(w, (uint64_t)n);
	for (int k = 0; k < n; k++) {
		hc_rec_str(w, fr[k].function, strlen(fr[k].function));
		hc_rec_str(w, fr[k].file ? fr[k].file : "", fr[k].file ? strlen(fr[k].file) : 0);
		hc_rec_u(w, fr[k].line);
	}
}

/* Appends items as SYMBOLS records; returns the records written or -errno. */
static long append(int fd, struct hc_symbols *syms, const struct item *items, size_t nitems)
{
	struct hc_writer w;
	int rc = hc_writer_init_append(&w, fd, ZSTD_LEVEL);
	if (rc) { /* nothing written; recover would cut at an unknown size */
		hc_writer_release(&w);
		return rc;
	}
	long records = 0;
	for (size_t i = 0; rc == 0 && i < nitems;) {
		size_t j = i, bytes = 0;
		while (j < nitems && j - i < RECORD_ADDRS &&
		       (j == i || bytes + items[j].bytes <= RECORD_BYTES))
			bytes += items[j++].bytes;
		hc_rec_begin(&w, HC_REC_SYMBOLS);
		hc_rec_u(&w, j - i);
		for (; i < j; i++)
			write_item(&w, syms, &items[i]);
		hc_rec_end(&w);
		rc = hc_writer_flush(&w); /* one record, one chunk: a torn write loses little */
		records++;
	}
	if (rc) /* cut back to the last whole chunk: the trace stays readable */
		hc_writer_recover(&w);
	hc_writer_release(&w);
	return rc ? rc : records;
}

int hc_symbolize_file(const char *path, int quiet)
{
	int status = -ENOMEM, fd = -1;
	struct addr_set set = {0};
	struct item *items = NULL;
	uint64_t *addrs = NULL;
	struct hc_symbols *syms = hc_symbols_new();
	struct hc_reader r;
	int rc = hc_reader_open(&r, path);
	if (!syms) {
		hc_err("'%s': out of memory", path);
		goto out;
	}
	if (rc < 0) {
		hc_err("'%s': %s", path, r.message);
		status = rc;
		goto out;
	}

	/* One pass: the module map, the stored symbols, the addresses. */
	struct hc_rec rec;
	uint64_t pid = 0;
	while ((rc = hc_reader_next(&r, &rec)) > 0) {
		int err = 0;
		struct hc_header_rec h;
		if (rec.type == HC_REC_HEADER && pid == 0 && hc_decode_header(&rec, &h) == 0)
			pid = h.pid;
		else if (rec.type == HC_REC_MODULES)
			err = hc_symbols_add_modules(syms, &rec);
		else if (rec.type == HC_REC_STACK)
			err = add_stack(&set, &rec);
		else if (rec.type == HC_REC_SYMBOLS)
			err = hc_symbols_add_stored(syms, &rec);
		if (err == -EBADMSG) {
			rc = hc_reader_fail_record(&r, &rec, hc_record_name(rec.type));
			break;
		}
		if (err) {
			hc_err("'%s': out of memory at byte offset %" PRIu64, path, rec.chunk_offset);
			goto out;
		}
	}
	if (rc < 0 && r.status != HC_READ_TRUNCATED) {
		/* Appending after a corrupt chunk would hide the symbols from
		 * every reader, and cutting it off would lose data: refuse. */
		hc_err("'%s': %s", path, r.message);
		status = r.err ? r.err : -EBADMSG;
		goto out;
	}
	uint64_t good = r.good_bytes;
	int torn = r.status == HC_READ_TRUNCATED;

	size_t naddrs = 0, resolved = 0, nitems = 0;
	addrs = set_sorted(&set, &naddrs);
	items = malloc((naddrs + 1) * sizeof(*items));
	if (!addrs || !items) {
		hc_err("'%s': out of memory", path);
		goto out;
	}
	for (size_t i = 0; i < naddrs; i++) {
		struct hc_sym_frame fr[HC_SYM_MAX_FRAMES];
		int stored = hc_symbols_stored(syms, addrs[i]);
		int n = hc_symbols_resolve(syms, addrs[i], fr, HC_SYM_MAX_FRAMES, NULL);
		if (n > 0)
			resolved++;
		/* Store an answer unless the trace has it: a resolved address
		 * once; an unresolved one once, and again only when resolved. */
		if (stored > 0 || (stored < 0 && n == 0))
			continue;
		size_t bytes = 24;
		for (int k = 0; k < n; k++)
			bytes += 24 + strlen(fr[k].function) + (fr[k].file ? strlen(fr[k].file) : 0);
		items[nitems++] = (struct item){addrs[i], bytes};
	}

	if (torn && !quiet)
		hc_err("'%s': %s%s", path, r.message,
		       nitems ? "; the torn chunk is cut off and symbols follow the last whole one" : "");
	long records = 0;
	if (nitems > 0) {
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0) {
			status = -errno;
			hc_err("'%s': cannot open for writing: %s", path, strerror(errno));
			goto out;
		}
		if (held_open_by(pid, &st)) {
			hc_err("'%s': process %" PRIu64 " is still writing it; symbolize it when that "
			       "process has ended", path, pid);
			status = -EBUSY;
			goto out;
		}
		if (!torn && (uint64_t)st.st_size != good) {
			hc_err("'%s': grew from %" PRIu64 " to %lld bytes while being read: is it still "
			       "being written?", path, good, (long long)st.st_size);
			status = -EBUSY;
			goto out;
		}
		/* The reader stops at the first torn chunk: what follows it
		 * would never be read, so the torn tail goes first. */
		if (torn && ftruncate(fd, (off_t)good) != 0) {
			status = -errno;
			hc_err("'%s': cannot cut the torn chunk at byte offset %" PRIu64 ": %s", path,
			       good, strerror(errno));
			goto out;
		}
		records = append(fd, syms, items, nitems);
		if (records >= 0 && fsync(fd) != 0 && errno != EINVAL)
			records = -errno;
		if (records < 0) {
			hc_err("'%s': cannot append symbols: %s", path, strerror((int)-records));
			status = (int)records;
			goto out;
		}
	}
	if (!quiet && nitems > 0)
		hc_err("'%s': %zu addresses, %zu resolved (%zu unknown); %zu stored in %ld SYMBOLS "
		       "record%s", path, naddrs, resolved, naddrs - resolved, nitems, records,
		       records == 1 ? "" : "s");
	else if (!quiet)
		hc_err("'%s': %zu addresses, %zu resolved (%zu unknown); all already stored, "
		       "trace unchanged", path, naddrs, resolved, naddrs - resolved);
	status = 0;
out:
	if (fd >= 0 && close(fd) != 0 && status == 0) {
		status = -errno;
		hc_err("'%s': cannot write: %s", path, strerror(errno));
	}
	hc_reader_close(&r);
	hc_symbols_free(syms);
	free(set.v);
	free(addrs);
	free(items);
	return status;
}

int hc_cmd_symbolize(int argc, char **argv)
{
	const char *path;
	int rc = hc_one_trace_arg(argc, argv, usage_line, &path);
	if (rc)
		return rc > 0 ? 0 : HC_EXIT_USAGE;
	return hc_symbolize_file(path, 0) ? HC_EXIT_USAGE : 0;
}
