/* Unit tests of the symbolizer (analyzer/symbols.c) on this test program's
 * own code, mapped where it really is: function, file:line and file offset
 * of a return address (a PIE, so the load bias matters), the build-id check,
 * overlapping module maps (the latest wins, trimmed pieces keep the right
 * file offsets), stored symbols first, unusable files (text, empty,
 * truncated, a directory, a FIFO, missing) giving nothing, malformed
 * records refused; and the writer appending to an existing trace.
 */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"
#include "heapcreep/trace.h"
#include "reader.h"
#include "symbols.h"
#include "tap.h"
#include "writer.h"

static char tmpdir[256];

static void die(const char *what)
{
	perror(what);
	exit(99);
}

/* --- the code under test: a return address with a known line ------------ */

/* Calls that stay calls (and functions that keep their names) at -O2. */
#ifdef __clang__
#define KEEP __attribute__((noinline))
#else
#define KEEP __attribute__((noinline, noclone))
#endif

static KEEP uint64_t here(void)
{
	return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

static int probe_line, probe_line_b;

static KEEP uint64_t probe(void)
{
	uint64_t ra = here(); probe_line = __LINE__; /* one line: the call's */
	return ra;
}

/* A second call site, for a second address. */
static KEEP uint64_t probe_b(void)
{
	uint64_t ra = here(); probe_line_b = __LINE__;
	return ra;
}

/* --- record bodies ------------------------------------------------------ */

struct body {
	uint8_t b[1 << 16];
	size_t n;
};

static void put_u(struct body *b, uint64_t v)
{
	b->n += hc_put_uvarint(b->b + b->n, v);
}

static void put_str(struct body *b, const void *s, size_t n)
{
	put_u(b, n);
	memcpy(b->b + b->n, s, n);
	b->n += n;
}

static struct hc_rec rec_of(uint64_t type, const struct body *b)
{
	struct hc_rec r = {0};
	r.type = type;
	r.body = b->b;
	r.len = b->n;
	return r;
}

struct map {
	uint64_t start, end, offset;
	const char *path;
	const void *bid;
	size_t bid_len;
};

/* A MODULES record of n mappings. */
static struct hc_rec modules(struct body *b, const struct map *m, size_t n)
{
	b->n = 0;
	put_u(b, 0);
	put_u(b, n);
	for (size_t i = 0; i < n; i++) {
		put_u(b, m[i].start);
		put_u(b, m[i].end);
		put_u(b, m[i].offset);
		put_str(b, m[i].path, strlen(m[i].path));
		put_str(b, m[i].bid, m[i].bid_len);
	}
	return rec_of(HC_REC_MODULES, b);
}

/* A new symbolizer that knows the mappings. */
static struct hc_symbols *with(const struct map *m, size_t n)
{
	struct body b;
	struct hc_symbols *s = hc_symbols_new();
	if (!s)
		die("hc_symbols_new");
	for (size_t i = 0; i < n; i++) {
		struct hc_rec r = modules(&b, &m[i], 1);
		if (hc_symbols_add_modules(s, &r))
			die("hc_symbols_add_modules");
	}
	return s;
}

/* --- where this program's code is mapped ---------------------------------- */

static struct map self;
static char self_path[4096];
static uint8_t self_bid[64];

static void find_self(uint64_t addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[8192];
	if (!f)
		die("/proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &off, &pos) < 4)
			continue;
		if (addr < start || addr >= end || perms[2] != 'x')
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(self_path, sizeof(self_path), "%s", line + pos);
		self.start = start;
		self.end = end;
		self.offset = off;
		self.path = self_path;
	}
	fclose(f);
	if (!self.path)
		die("own mapping not found");
	elf_version(EV_CURRENT);
	int fd = open(self_path, O_RDONLY);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	const void *id;
	ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;
	if (n > 0 && (size_t)n <= sizeof(self_bid)) {
		memcpy(self_bid, id, (size_t)n);
		self.bid = self_bid;
		self.bid_len = (size_t)n;
	}
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* --- tests --------------------------------------------------------------- */

static void test_own_code(uint64_t ra)
{
	struct hc_symbols *s = with(&self, 1);
	struct hc_sym_frame fr[HC_SYM_MAX_FRAMES];
	struct hc_sym_where where;
	int n = hc_symbols_resolve(s, ra, fr, HC_SYM_MAX_FRAMES, &where);
	is_int(n, 1, "own code: one frame (probe is not inlined)");
	if (n >= 1) {
		is_str(fr[0].function, "probe", "own code: the function");
		ok(ends_with(fr[0].file, "/tests/unit/test-symbols.c"), "own code: the file (%s)",
		   fr[0].file);
		is_int(fr[0].line, probe_line, "own code: the line of the call");
	}
	is_str(where.module, self.path, "own code: the module path from the trace");
	is_u64(where.offset, self.offset + (ra - self.start), "own code: the offset in the file");

	struct hc_sym_frame again[1];
	int n2 = hc_symbols_resolve(s, ra, again, 1, NULL);
	ok(n2 == 1 && again[0].function == fr[0].function && again[0].file == fr[0].file,
	   "asked again: the cached answer, same strings");

	struct hc_sym_where w0;
	is_int(hc_symbols_resolve(s, 0, fr, HC_SYM_MAX_FRAMES, &w0), 0, "address 0: nothing");
	ok(w0.module == NULL, "address 0: no module");
	is_int(hc_symbols_resolve(s, self.end + 0x100000, fr, HC_SYM_MAX_FRAMES, &w0), 0,
	       "an address no mapping covers: nothing");
	ok(w0.module == NULL, "an address no mapping covers: no module");
	hc_symbols_free(s);
}

static void test_build_id(uint64_t ra)
{
	struct hc_sym_frame fr[4];
	struct hc_sym_where where;
	if (!self.bid_len) {
		ok(1, "# SKIP this test program has no build-id");
		return;
	}
	struct map m = self;
	uint8_t other[64];
	memcpy(other, self_bid, self.bid_len);
	other[0] ^= 0xff;
	m.bid = other;
	struct hc_symbols *s = with(&m, 1);
	is_int(hc_symbols_resolve(s, ra, fr, 4, &where), 0,
	       "a file whose build-id differs from the trace's: nothing, not its names");
	is_str(where.module, self.path, "... but the module and offset are still known");
	hc_symbols_free(s);

	char hex[129];
	for (size_t i = 0; i < self.bid_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", self_bid[i]);
	m.bid = hex;
	m.bid_len = 2 * self.bid_len;
	s = with(&m, 1);
	ok(hc_symbols_resolve(s, ra, fr, 4, NULL) == 1 && !strcmp(fr[0].function, "probe"),
	   "a build-id stored as hex text matches too");
	hc_symbols_free(s);
}

static void test_overlaps(uint64_t ra)
{
	struct hc_sym_frame fr[4];
	struct hc_sym_where where;
	struct map bogus = self;
	bogus.path = "/nonexistent/heapcreep-test";
	bogus.bid_len = 0;

	struct map seq[3] = {bogus, self};
	struct hc_symbols *s = with(seq, 2);
	ok(hc_symbols_resolve(s, ra, fr, 4, NULL) == 1 && !strcmp(fr[0].function, "probe"),
	   "same range mapped twice: the later mapping wins");
	hc_symbols_free(s);
	seq[0] = self;
	seq[1] = bogus;
	s = with(seq, 2);
	is_int(hc_symbols_resolve(s, ra, fr, 4, &where), 0, "... in either order");
	is_str(where.module, bogus.path, "... and gives its module");
	hc_symbols_free(s);

	/* Cut the real mapping down to ra's page from both sides: the piece
	 * left must keep the file offsets of the addresses it still maps. */
	uint64_t page = ra & ~(uint64_t)4095;
	size_t n = 0;
	seq[n++] = self;
	if (page > self.start) {
		seq[n] = bogus;
		seq[n].end = page;
		n++;
	}
	if (page + 4096 < self.end) {
		seq[n] = bogus;
		seq[n].start = page + 4096;
		seq[n].offset = self.offset + (page + 4096 - self.start);
		n++;
	}
	s = with(seq, n);
	ok(hc_symbols_resolve(s, ra, fr, 4, &where) == 1 && !strcmp(fr[0].function, "probe"),
	   "real mapping cut down to one page by later ones (%zu cuts): still resolved", n - 1);
	is_u64(where.offset, self.offset + (ra - self.start), "... at the same file offset");
	if (page > self.start)
		is_str((hc_symbols_resolve(s, page - 8, fr, 4, &where), where.module), bogus.path,
		       "... and the address before the page is in the later mapping");
	else
		ok(1, "# SKIP ra is in the mapping's first page");
	hc_symbols_free(s);
}

static struct hc_rec symbols_rec(struct body *b, uint64_t addr, const char *fn, const char *file,
				 uint64_t line, int nframes)
{
	b->n = 0;
	put_u(b, 1);
	put_u(b, addr);
	put_u(b, (uint64_t)nframes);
	for (int i = 0; i < nframes; i++) {
		put_str(b, i ? "outer_fn" : fn, strlen(i ? "outer_fn" : fn));
		put_str(b, i ? "" : file, i ? 0 : strlen(file));
		put_u(b, i ? 0 : line);
	}
	return rec_of(HC_REC_SYMBOLS, b);
}

static void test_stored(uint64_t ra)
{
	struct hc_sym_frame fr[4];
	struct hc_sym_where where;
	struct body b;
	struct hc_symbols *s = with(&self, 1);
	struct hc_rec r;

	is_int(hc_symbols_stored(s, ra), 0, "nothing stored yet");
	r = symbols_rec(&b, ra, "stored_fn", "/src/stored.c", 7, 2);
	is_int(hc_symbols_add_stored(s, &r), 0, "a SYMBOLS record loads");
	is_int(hc_symbols_stored(s, ra), 1, "the address is stored, resolved");
	int n = hc_symbols_resolve(s, ra, fr, 4, &where);
	ok(n == 2 && !strcmp(fr[0].function, "stored_fn") && !strcmp(fr[0].file, "/src/stored.c") &&
	   fr[0].line == 7 && !strcmp(fr[1].function, "outer_fn") && fr[1].file == NULL &&
	   fr[1].line == 0, "stored symbols beat the file on disk, frames in order");
	is_str(where.module, self.path, "... the module still comes from the map");
	is_int(hc_symbols_resolve(s, ra, fr, 1, NULL), 1, "max 1: one frame");

	r = symbols_rec(&b, ra, "", "", 0, 0);
	hc_symbols_add_stored(s, &r);
	ok(hc_symbols_resolve(s, ra, fr, 4, NULL) == 2 && !strcmp(fr[0].function, "stored_fn"),
	   "a later unresolved entry does not replace a resolved one");
	r = symbols_rec(&b, ra, "newer_fn", "/src/newer.c", 9, 1);
	hc_symbols_add_stored(s, &r);
	ok(hc_symbols_resolve(s, ra, fr, 4, NULL) == 1 && !strcmp(fr[0].function, "newer_fn"),
	   "a later resolved entry does");

	/* Unresolved when stored, resolvable here: the file is tried. */
	uint64_t ra2 = probe_b();
	r = symbols_rec(&b, ra2, "", "", 0, 0);
	hc_symbols_add_stored(s, &r);
	is_int(hc_symbols_stored(s, ra2), -1, "stored unresolved");
	ok(hc_symbols_resolve(s, ra2, fr, 4, NULL) == 1 && !strcmp(fr[0].function, "probe_b") &&
	   fr[0].line == (unsigned)probe_line_b, "stored unresolved: the file on disk answers");

	/* Stored, with no mapping at all. */
	r = symbols_rec(&b, 0x1234, "lonely", "/src/l.c", 3, 1);
	hc_symbols_add_stored(s, &r);
	ok(hc_symbols_resolve(s, 0x1234, fr, 4, &where) == 1 && !strcmp(fr[0].function, "lonely") &&
	   where.module == NULL, "stored symbols of an address no mapping covers");

	/* Malformed records: refused, nothing changes. */
	r = symbols_rec(&b, ra, "broken", "/src/b.c", 1, 1);
	r.len -= 2;
	is_int(hc_symbols_add_stored(s, &r), -EBADMSG, "a cut SYMBOLS record: -EBADMSG");
	ok(hc_symbols_resolve(s, ra, fr, 4, NULL) == 1 && !strcmp(fr[0].function, "newer_fn"),
	   "... and nothing of it was loaded");
	struct map two[2] = {self, self};
	two[1].path = "/nonexistent/other";
	r = modules(&b, two, 2);
	r.len -= 3;
	is_int(hc_symbols_add_modules(s, &r), -EBADMSG, "a cut MODULES record: -EBADMSG");
	is_int(hc_symbols_resolve(s, ra2, fr, 4, &where), 1, "... and nothing of it was added");
	is_str(where.module, self.path, "... the map is as it was");
	hc_symbols_free(s);
}

static void copy_cut(const char *from, const char *to, off_t n)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in < 0 || out < 0)
		die("copy_cut");
	char buf[65536];
	while (n > 0) {
		ssize_t k = read(in, buf, n < (off_t)sizeof(buf) ? (size_t)n : sizeof(buf));
		if (k <= 0 || write(out, buf, (size_t)k) != k)
			break;
		n -= k;
	}
	close(in);
	close(out);
}

static void test_unusable_files(uint64_t ra)
{
	struct stat st;
	if (stat(self_path, &st))
		die("stat self");
	char path[512];
	struct {
		const char *what;
		off_t cut; /* -1: not a copy */
	} cases[] = {
		{"text", -1},   {"empty", 0}, {"cut-64", 64}, {"cut-1000", 1000},
		{"cut-third", 0}, {"cut-two-thirds", 0}, {"cut-one-byte-short", 0},
		{"dir", -1},    {"fifo", -1}, {"missing", -1},
	};
	cases[4].cut = st.st_size / 3;
	cases[5].cut = st.st_size * 2 / 3;
	cases[6].cut = st.st_size - 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, cases[i].what);
		if (!strcmp(cases[i].what, "text")) {
			FILE *f = fopen(path, "w");
			if (!f)
				die("text");
			fputs("not an ELF file\n", f);
			fclose(f);
		} else if (!strcmp(cases[i].what, "dir")) {
			mkdir(path, 0700);
		} else if (!strcmp(cases[i].what, "fifo")) {
			mkfifo(path, 0600);
		} else if (cases[i].cut >= 0) {
			copy_cut(self_path, path, cases[i].cut);
		}
		struct map m = self;
		m.path = path;
		m.bid_len = 0; /* no build-id to check: the file itself must not pass */
		struct hc_symbols *s = with(&m, 1);
		struct hc_sym_frame fr[HC_SYM_MAX_FRAMES];
		int n = hc_symbols_resolve(s, ra, fr, HC_SYM_MAX_FRAMES, NULL);
		is_int(n, 0, "module file %s: nothing, no crash, no hang", cases[i].what);
		hc_symbols_free(s);
	}
}

/* hc_writer_init_append: chunks go after the existing ones, no second file
 * header, and recovery never cuts into what was there. */
static void test_writer_append(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/append.hct", tmpdir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct hc_writer w;
	if (fd < 0 || hc_writer_init(&w, fd, 3))
		die("writer");
	hc_rec_begin(&w, 100);
	hc_rec_u(&w, 1);
	hc_rec_end(&w);
	hc_writer_flush(&w);
	hc_writer_release(&w);
	close(fd);
	struct stat st;
	stat(path, &st);
	off_t before = st.st_size;

	fd = open(path, O_WRONLY | O_APPEND);
	is_int(hc_writer_init_append(&w, fd, 3), 0, "append: init");
	is_u64(w.good_bytes, (uint64_t)before, "append: good_bytes starts at the end of the file");
	hc_rec_begin(&w, 101);
	hc_rec_u(&w, 2);
	hc_rec_end(&w);
	is_int(hc_writer_flush(&w), 0, "append: a chunk written");
	is_u64(w.bytes_written, w.good_bytes, "append: bytes_written counts the whole file");
	hc_rec_begin(&w, 102); /* pending, then dropped by recover */
	hc_rec_u(&w, 3);
	hc_rec_end(&w);
	is_int(hc_writer_recover(&w), 0, "append: recover");
	hc_writer_release(&w);
	close(fd);

	struct hc_reader r;
	struct hc_rec rec;
	uint64_t types[4] = {0}, v[4] = {0};
	int n = 0, rc;
	hc_reader_open(&r, path);
	while ((rc = hc_reader_next(&r, &rec)) > 0 && n < 4) {
		struct hc_cur c = hc_cur_of(&rec);
		types[n] = rec.type;
		hc_cur_u(&c, &v[n]);
		n++;
	}
	ok(rc == 0 && r.status == HC_READ_COMPLETE && n == 2 && types[0] == 100 && v[0] == 1 &&
	   types[1] == 101 && v[1] == 2, "append: the trace reads back whole, old record then new");
	stat(path, &st);
	is_u64((uint64_t)st.st_size, r.good_bytes, "append: the file ends after the new chunk");
	hc_reader_close(&r);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/hc-test-symbols.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		die("mkdtemp");
	unsetenv("DEBUGINFOD_URLS");
	uint64_t ra = probe();
	find_self(ra);
	diag("own code mapped at 0x%llx-0x%llx offset 0x%llx from %s", (unsigned long long)self.start,
	     (unsigned long long)self.end, (unsigned long long)self.offset, self.path);

	test_own_code(ra);
	test_build_id(ra);
	test_overlaps(ra);
	test_stored(ra);
	test_unusable_files(ra);
	test_writer_append();

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return done_testing();
}
