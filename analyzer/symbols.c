/* The symbolizer (see symbols.h). The module map is painted into sorted,
 * non-overlapping spans (the latest mapping wins); each file (path + build-id)
 * gets its own libdwfl session at bias 0, and an address is looked up by its
 * ELF address: offset in the file -> the PT_LOAD segment holding it -> p_vaddr.
 * It must never trust the files on disk: a build-id that differs from the
 * trace's makes a file unusable, and only regular files are opened.
 */
#include "symbols.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <gelf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "decode.h"
#include "hash.h"
#include "scopes.h"
#include "heapcreep/trace.h"

/* Longer strings (template-heavy C++ names) are cut here, so one entry of a
 * SYMBOLS record stays far below the chunk size limit. */
#define MAX_STR 8192

/* Module files open at once (each holds a descriptor or two, and their
 * DWARF): beyond this the least recently used one is closed, so a process
 * with thousands of libraries does not run out of descriptors. Answers are
 * cached per address, so a closed file is rarely opened again. */
#define MAX_OPEN 128

/* One module file: a path and the build-id the trace saw for it. */
struct module {
	char *path;           /* NUL-terminated; path_len bytes from the trace */
	size_t path_len;
	uint8_t *build_id;
	size_t build_id_len;
	uint64_t hash;
	int state;            /* 0 not open (yet), 1 usable, -1 unusable */
	uint64_t last_used;   /* s->clock when last looked up in */
	Dwfl *dwfl;
	Dwfl_Module *mod;
	GElf_Addr bias;       /* module address minus ELF address (0: reported at 0) */
	GElf_Phdr *loads;     /* the PT_LOAD headers */
	size_t nloads;
	/* The address ranges of every unit, for files without .debug_aranges
	 * (clang does not emit it by default, and libdw 0.188 then finds no
	 * unit by address); built on the first address libdwfl cannot place. */
	struct cu_range *cus;
	size_t ncus;
	int cus_built;
	/* The units' scope indexes, by the unit DIE's offset (scopes.h). */
	struct unit_scopes *units;
	size_t nunits, cap_units;
};

struct unit_scopes {
	Dwarf_Off off;
	struct hc_scopes *scopes;
};

struct cu_range {
	Dwarf_Addr lo, hi;    /* DWARF addresses: module address minus bias */
	Dwarf_Die cu;
	Dwarf_Addr bias;
};

/* A piece of the address space: [start, end) maps file_offset on. */
struct span {
	uint64_t start, end, file_offset;
	size_t module;
};

enum { STORED_NONE = 0, STORED_RESOLVED = 1, STORED_UNRESOLVED = 2 };

/* The cached answer for one address. */
struct entry {
	uint64_t addr;
	size_t first;         /* frames[first .. first + n) */
	uint32_t n;
	uint8_t used;
	uint8_t stored;       /* STORED_* */
	uint8_t done;         /* n and first are an answer */
	uint64_t generation;  /* module map generation of a disk answer */
};

struct hc_symbols {
	struct module *mods;
	size_t nmods, mods_cap;
	struct span *spans;
	size_t nspans, spans_cap;
	uint64_t generation;  /* bumped whenever the painted map changes */
	size_t nopen;         /* modules with state 1 */
	uint64_t clock;

	struct entry *entries;
	size_t entries_cap, nentries;   /* cap is a power of two */
	struct hc_sym_frame *frames;
	size_t nframes, frames_cap;

	char **strs;          /* interned strings, open addressing */
	size_t strs_cap, nstrs;

	Dwfl_Callbacks callbacks;
	char *debuginfo_path;
	const struct hc_pycodes *py;
};

/* --- the demangler --------------------------------------------------------
 * libstdc++'s __cxa_demangle, looked up at run time: a C tool should not link
 * libstdc++ for it, and without it names stay mangled (still correct). The
 * library stays loaded for the life of the process (never dlclose'd: it may
 * have registered exit-time hooks). */

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);
static demangle_fn cxa_demangle;
static pthread_once_t demangle_once = PTHREAD_ONCE_INIT;

static void demangle_init(void)
{
	void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
	if (h)
		*(void **)&cxa_demangle = dlsym(h, "__cxa_demangle");
}

/* --- strings ---------------------------------------------------------- */

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

#define HASH_INIT 1469598103934665603ull

static int strs_grow(struct hc_symbols *s)
{
	size_t ncap = s->strs_cap ? s->strs_cap * 2 : 1024;
	char **n = calloc(ncap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < s->strs_cap; i++) {
		char *str = s->strs[i];
		if (!str)
			continue;
		size_t j = hash_bytes(str, strlen(str), HASH_INIT) & (ncap - 1);
		while (n[j])
			j = (j + 1) & (ncap - 1);
		n[j] = str;
	}
	free(s->strs);
	s->strs = n;
	s->strs_cap = ncap;
	return 0;
}

/* A NUL-terminated copy of n bytes (cut at MAX_STR or at an embedded NUL),
 * shared with every equal string; NULL when out of memory. */
static const char *intern(struct hc_symbols *s, const char *p, size_t n)
{
	const char *nul = memchr(p, '\0', n);
	if (nul)
		n = (size_t)(nul - p);
	if (n > MAX_STR)
		n = MAX_STR;
	if (2 * (s->nstrs + 1) > s->strs_cap && strs_grow(s))
		return NULL;
	size_t j = hash_bytes(p, n, HASH_INIT) & (s->strs_cap - 1);
	for (char *e; (e = s->strs[j]); j = (j + 1) & (s->strs_cap - 1))
		if (strncmp(e, p, n) == 0 && e[n] == '\0')
			return e;
	char *c = malloc(n + 1);
	if (!c)
		return NULL;
	memcpy(c, p, n);
	c[n] = '\0';
	s->strs[j] = c;
	s->nstrs++;
	return c;
}

/* The demangled form of a C++ (Itanium ABI) name, else the name itself. */
static const char *intern_name(struct hc_symbols *s, const char *name)
{
	if (name[0] == '_' && name[1] == 'Z') {
		pthread_once(&demangle_once, demangle_init);
		if (cxa_demangle) {
			int status = -1;
			char *d = cxa_demangle(name, NULL, NULL, &status);
			if (d && status == 0) {
				const char *r = intern(s, d, strlen(d));
				free(d);
				return r;
			}
			free(d);
		}
	}
	return intern(s, name, strlen(name));
}

/* dir/file (file alone when absolute or dir unknown) with "." components
 * and "name/.." pairs taken out, interned: Debian's libc says
 * "./csu/../sysdeps/nptl/libc_start_call_main.h". Only the names change,
 * so a symlinked directory may be reported by a path that does not exist. */
static const char *intern_path(struct hc_symbols *s, const char *dir, const char *file)
{
	size_t dl = file[0] != '/' && dir ? strlen(dir) : 0, fl = strlen(file);
	/* libdw has already put a relative compilation directory in front of
	 * the files of directory entry 0 ("./elf/dl-init.c" for "./elf"). */
	if (dl && strncmp(file, dir, dl) == 0 && file[dl] == '/')
		dl = 0;
	if (dl + fl > 2 * MAX_STR)
		return intern(s, file, fl);
	char *buf = malloc(dl + fl + 2), *out = malloc(dl + fl + 2);
	if (!buf || !out) {
		free(buf);
		free(out);
		return NULL;
	}
	if (dl)
		memcpy(buf, dir, dl);
	buf[dl] = '/';
	memcpy(buf + (dl ? dl + 1 : 0), file, fl + 1);
	int abs = buf[0] == '/';
	size_t o = 0, keep = 0; /* keep: leading ".." components, never popped */
	for (char *p = buf; *p;) {
		char *q = strchr(p, '/');
		size_t len = q ? (size_t)(q - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (o > keep) { /* drop the last component */
				while (o > 0 && out[o - 1] != '/')
					o--;
				if (o > 0)
					o--;
			} else if (!abs) {
				if (o)
					out[o++] = '/';
				memcpy(out + o, "..", 2);
				o += 2;
				keep = o;
			}
		} else {
			if (o || abs)
				out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	if (o == 0)
		out[o++] = abs ? '/' : '.';
	const char *r = intern(s, out, o);
	free(buf);
	free(out);
	return r;
}

/* --- the module map ------------------------------------------------------ */

struct hc_symbols *hc_symbols_new(void)
{
	struct hc_symbols *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	/* dwfl_standard_find_debuginfo: the file itself, then by build-id under
	 * /usr/lib/debug/.build-id/xx/yyyy.debug, then .gnu_debuglink next to
	 * the file, in .debug/ and under /usr/lib/debug (and debuginfod when
	 * DEBUGINFOD_URLS is set). A NULL path string selects that default. */
	s->callbacks.find_elf = dwfl_build_id_find_elf;
	s->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	s->callbacks.debuginfo_path = &s->debuginfo_path;
	return s;
}

static void module_close(struct module *m)
{
	if (m->dwfl)
		dwfl_end(m->dwfl);
	m->dwfl = NULL;
	m->mod = NULL;
	for (size_t i = 0; i < m->nunits; i++)
		hc_scopes_free(m->units[i].scopes);
	free(m->units);
	m->units = NULL;
	m->nunits = m->cap_units = 0;
	free(m->loads);
	m->loads = NULL;
	m->nloads = 0;
	free(m->cus);
	m->cus = NULL;
	m->ncus = 0;
	m->cus_built = 0;
}

void hc_symbols_free(struct hc_symbols *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmods; i++) {
		module_close(&s->mods[i]);
		free(s->mods[i].path);
		free(s->mods[i].build_id);
	}
	free(s->mods);
	free(s->spans);
	free(s->entries);
	free(s->frames);
	for (size_t i = 0; i < s->strs_cap; i++)
		free(s->strs[i]);
	free(s->strs);
	free(s);
}

/* The index of the module for path + build-id, added if new; -ENOMEM. */
static long module_find(struct hc_symbols *s, const struct hc_module_rec *r)
{
	uint64_t h = hash_bytes(r->path.p, r->path.len, HASH_INIT);
	h = hash_bytes(r->build_id.p, r->build_id.len, h ^ 0xff);
	for (size_t i = 0; i < s->nmods; i++) {
		struct module *m = &s->mods[i];
		if (m->hash == h && m->build_id_len == r->build_id.len &&
		    m->path_len == r->path.len && memcmp(m->path, r->path.p, r->path.len) == 0 &&
		    (r->build_id.len == 0 || memcmp(m->build_id, r->build_id.p, r->build_id.len) == 0))
			return (long)i;
	}
	if (s->nmods == s->mods_cap) {
		size_t ncap = s->mods_cap ? s->mods_cap * 2 : 16;
		struct module *n = realloc(s->mods, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->mods = n;
		s->mods_cap = ncap;
	}
	struct module *m = &s->mods[s->nmods];
	memset(m, 0, sizeof(*m));
	m->path = malloc(r->path.len + 1);
	m->build_id = malloc(r->build_id.len + 1);
	if (!m->path || !m->build_id) {
		free(m->path);
		free(m->build_id);
		return -ENOMEM;
	}
	memcpy(m->path, r->path.p, r->path.len);
	m->path[r->path.len] = '\0';
	m->path_len = r->path.len;
	if (r->build_id.len)
		memcpy(m->build_id, r->build_id.p, r->build_id.len);
	m->build_id_len = r->build_id.len;
	m->hash = h;
	if (memchr(r->path.p, '\0', r->path.len)) /* a path that cannot be opened */
		m->state = -1;
	return (long)s->nmods++;
}

/* The index of the first span ending after addr. */
static size_t span_lower(const struct hc_symbols *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nspans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->spans[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Paints [start, end) onto the map: what it overlaps is cut away. */
static int paint(struct hc_symbols *s, const struct span *nw)
{
	size_t i = span_lower(s, nw->start);
	if (i < s->nspans && s->spans[i].start == nw->start && s->spans[i].end == nw->end &&
	    s->spans[i].file_offset == nw->file_offset && s->spans[i].module == nw->module)
		return 0; /* the same mapping again: the common case */
	size_t j = i; /* spans [i, j) overlap */
	while (j < s->nspans && s->spans[j].start < nw->end)
		j++;
	struct span left, right;
	int has_left = i < j && s->spans[i].start < nw->start;
	int has_right = i < j && s->spans[j - 1].end > nw->end;
	if (has_left) {
		left = s->spans[i];
		left.end = nw->start;
	}
	if (has_right) {
		right = s->spans[j - 1];
		right.file_offset += nw->end - right.start;
		right.start = nw->end;
	}
	size_t repl = (size_t)has_left + 1 + (size_t)has_right;
	size_t nlen = s->nspans - (j - i) + repl;
	if (nlen > s->spans_cap) {
		size_t ncap = s->spans_cap ? s->spans_cap * 2 : 64;
		while (ncap < nlen)
			ncap *= 2;
		struct span *n = realloc(s->spans, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->spans = n;
		s->spans_cap = ncap;
	}
	memmove(&s->spans[i + repl], &s->spans[j], (s->nspans - j) * sizeof(struct span));
	size_t k = i;
	if (has_left)
		s->spans[k++] = left;
	s->spans[k++] = *nw;
	if (has_right)
		s->spans[k++] = right;
	s->nspans = nlen;
	s->generation++;
	return 0;
}

int hc_symbols_add_modules(struct hc_symbols *s, const struct hc_rec *modules_rec)
{
	struct hc_cur c, check;
	uint64_t ts, count;
	if (hc_decode_modules_begin(modules_rec, &c, &ts, &count))
		return -EBADMSG;
	/* Check the whole record first, so a malformed one adds nothing. */
	check = c;
	for (uint64_t i = 0; i < count; i++) {
		struct hc_module_rec m;
		if (hc_decode_module(&check, &m))
			return -EBADMSG;
	}
	for (uint64_t i = 0; i < count; i++) {
		struct hc_module_rec m;
		hc_decode_module(&c, &m);
		if (m.start >= m.end)
			continue;
		long idx = module_find(s, &m);
		if (idx < 0)
			return (int)idx;
		struct span sp = {m.start, m.end, m.file_offset, (size_t)idx};
		int rc = paint(s, &sp);
		if (rc)
			return rc;
	}
	return 0;
}

/* --- opening a module file ------------------------------------------------ */

static int same_build_id(const struct module *m, const unsigned char *bits, int n)
{
	if (n <= 0)
		return 0;
	if (m->build_id_len == (size_t)n && memcmp(m->build_id, bits, (size_t)n) == 0)
		return 1;
	/* A build-id the trace holds as hex text. */
	if (m->build_id_len != 2 * (size_t)n)
		return 0;
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < n; i++) {
		char hi = (char)(m->build_id[2 * i] | 0x20), lo = (char)(m->build_id[2 * i + 1] | 0x20);
		if (hi != hex[bits[i] >> 4] || lo != hex[bits[i] & 15])
			return 0;
	}
	return 1;
}

static void module_open(struct hc_symbols *s, struct module *m)
{
	m->state = -1;
	/* /proc/PID/maps marks a deleted file; whatever is at the path now
	 * must pass the build-id check below. */
	size_t len = strlen(m->path);
	static const char deleted[] = " (deleted)";
	char *path = strdup(m->path);
	if (!path)
		return;
	if (len > sizeof(deleted) - 1 && strcmp(path + len - (sizeof(deleted) - 1), deleted) == 0)
		path[len - (sizeof(deleted) - 1)] = '\0';
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(path);
		return;
	}
	m->dwfl = dwfl_begin(&s->callbacks);
	if (!m->dwfl) {
		free(path);
		return;
	}
	/* add_p_vaddr with base 0: module addresses are the ELF's own. */
	dwfl_report_begin(m->dwfl);
	m->mod = dwfl_report_elf(m->dwfl, m->path, path, -1, 0, true);
	dwfl_report_end(m->dwfl, NULL, NULL);
	free(path);
	Elf *elf = m->mod ? dwfl_module_getelf(m->mod, &m->bias) : NULL;
	if (!elf)
		goto fail;
	const unsigned char *bits;
	GElf_Addr bid_vaddr;
	int n = dwfl_module_build_id(m->mod, &bits, &bid_vaddr);
	if (m->build_id_len && !same_build_id(m, bits, n))
		goto fail; /* rebuilt since the trace was taken */

	size_t nph;
	if (elf_getphdrnum(elf, &nph) != 0 || nph == 0 || nph > 65535)
		goto fail;
	m->loads = calloc(nph, sizeof(*m->loads));
	if (!m->loads)
		goto fail;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			m->loads[m->nloads++] = ph;
	}
	if (m->nloads == 0)
		goto fail;
	m->state = 1;
	return;
fail:
	module_close(m);
}

/* Closes the open module used longest ago; it is opened again if needed. */
static void close_lru(struct hc_symbols *s)
{
	struct module *lru = NULL;
	for (size_t i = 0; i < s->nmods; i++)
		if (s->mods[i].state > 0 && (!lru || s->mods[i].last_used < lru->last_used))
			lru = &s->mods[i];
	if (lru) {
		module_close(lru);
		lru->state = 0;
		s->nopen--;
	}
}

/* The module address of a file offset, through the PT_LOAD segment holding
 * it; 0 and *a when found. */
static int offset_to_addr(const struct module *m, uint64_t off, Dwarf_Addr *a)
{
	for (size_t i = 0; i < m->nloads; i++) {
		const GElf_Phdr *ph = &m->loads[i];
		if (off >= ph->p_offset && off - ph->p_offset < ph->p_filesz) {
			*a = ph->p_vaddr + (off - ph->p_offset) + m->bias;
			return 0;
		}
	}
	return -1;
}

/* --- resolving from the files --------------------------------------------- */

/* The name of a subprogram or inlined instance: its linkage name (the C++
 * mangled one, demangled later) through abstract origins and
 * specifications, else its plain name. */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute mem, *a = dwarf_attr_integrate(die, DW_AT_linkage_name, &mem);
	if (!a)
		a = dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &mem);
	const char *name = a ? dwarf_formstring(a) : NULL;
	if (!name) {
		a = dwarf_attr_integrate(die, DW_AT_name, &mem);
		name = a ? dwarf_formstring(a) : NULL;
	}
	return name && *name ? name : NULL;
}

/* The compilation directory of the unit holding die, or NULL. */
static const char *comp_dir(Dwarf_Die *cu)
{
	Dwarf_Attribute mem;
	return dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &mem));
}

/* The call site of an inlined instance: file (NULL if unknown), the
 * compilation directory and the line. */
static const char *call_site(Dwarf_Die *inl, const char **dir, unsigned *line)
{
	Dwarf_Attribute mem;
	Dwarf_Word v;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &mem), &v) == 0 && v <= 0xffffffffu)
		*line = (unsigned)v;
	Dwarf_Die cu;
	Dwarf_Files *files;
	size_t nfiles;
	*dir = NULL;
	if (!dwarf_diecu(inl, &cu, NULL, NULL) || dwarf_getsrcfiles(&cu, &files, &nfiles) != 0 ||
	    dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &mem), &v) != 0 || v >= nfiles)
		return NULL;
	*dir = comp_dir(&cu);
	return dwarf_filesrc(files, v, NULL, NULL);
}

struct raw_frame {
	const char *function, *file;
	const char *dir;      /* the compilation directory, for a relative file */
	unsigned line;
};

static int cu_range_cmp(const void *x, const void *y)
{
	const struct cu_range *a = x, *b = y;
	return (a->lo > b->lo) - (a->lo < b->lo);
}

static void build_cu_ranges(struct module *m)
{
	m->cus_built = 1;
	size_t cap = 0;
	Dwarf_Addr bias;
	for (Dwarf_Die *cu = NULL; (cu = dwfl_module_nextcu(m->mod, cu, &bias));) {
		Dwarf_Addr base, lo, hi;
		for (ptrdiff_t off = 0; (off = dwarf_ranges(cu, off, &base, &lo, &hi)) > 0;) {
			if (lo >= hi)
				continue;
			if (m->ncus == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct cu_range *n = realloc(m->cus, ncap * sizeof(*n));
				if (!n)
					goto done; /* out of memory: the units found so far */
				m->cus = n;
				cap = ncap;
			}
			m->cus[m->ncus++] = (struct cu_range){lo, hi, *cu, bias};
		}
	}
done:
	if (m->ncus)
		qsort(m->cus, m->ncus, sizeof(*m->cus), cu_range_cmp);
}

/* The unit holding module address a, from the range table. */
static Dwarf_Die *cu_by_range(struct module *m, Dwarf_Addr a, Dwarf_Addr *bias)
{
	if (!m->cus_built)
		build_cu_ranges(m);
	/* The last range starting at or below a; ranges of different units
	 * do not overlap in sane files, so one look back is enough. */
	size_t lo = 0, hi = m->ncus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->cus[mid].lo <= a - m->cus[mid].bias)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct cu_range *r = &m->cus[lo - 1];
	if (a - r->bias >= r->hi)
		return NULL;
	*bias = r->bias;
	return &r->cu;
}

/* The scopes that physically contain pc in unit cu, innermost first, from
 * the unit's index (built on its first address); the walk of the unit
 * (dwarf_getscopes, then dwarf_getscopes_die from the innermost) when the
 * index cannot be had. Returns how many. */
static int scopes_at(struct module *m, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die *out, int max)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	struct hc_scopes *sc = NULL;
	for (size_t i = 0; i < m->nunits && !sc; i++)
		if (m->units[i].off == off)
			sc = m->units[i].scopes;
	if (!sc && m->nunits == m->cap_units) {
		size_t ncap = m->cap_units ? 2 * m->cap_units : 16;
		struct unit_scopes *n = realloc(m->units, ncap * sizeof(*n));
		if (n) {
			m->units = n;
			m->cap_units = ncap;
		}
	}
	if (!sc && m->nunits < m->cap_units) {
		sc = hc_scopes_build(cu);
		if (sc)
			m->units[m->nunits++] = (struct unit_scopes){off, sc};
	}
	if (sc)
		return hc_scopes_at(sc, pc, out, max);
	Dwarf_Die *scopes = NULL, inner;
	int n = dwarf_getscopes(cu, pc, &scopes);
	if (n > 0) {
		inner = scopes[0];
		free(scopes);
		scopes = NULL;
		n = dwarf_getscopes_die(&inner, &scopes);
	}
	int k = 0;
	for (int i = 0; i < n && k < max; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram ||
		    tag == DW_TAG_entry_point)
			out[k++] = scopes[i];
	}
	free(scopes);
	return k;
}

/* Frames for module address a; returns how many (0: nothing known). */
static int resolve_in(struct module *m, Dwarf_Addr a, struct raw_frame *fr)
{
	int n = 0;
	const char *file = NULL, *dir = NULL;
	int line = 0;
	Dwarf_Addr dbias = 0;
	Dwarf_Die *cudie = dwfl_module_addrdie(m->mod, a, &dbias);
	if (!cudie)
		cudie = cu_by_range(m, a, &dbias);
	Dwarf_Line *dl = cudie ? dwarf_getsrc_die(cudie, a - dbias) : NULL;
	if (dl) {
		file = dwarf_linesrc(dl, NULL, NULL);
		dir = comp_dir(cudie);
		if (!file || dwarf_lineno(dl, &line) != 0 || line < 0)
			line = 0;
	}
	const char *file0 = file, *dir0 = dir;
	int line0 = line;

	/* The chain of DIEs that physically contain the address: every inlined
	 * instance out to the function (not the scopes of an inlined
	 * function's abstract definition). */
	Dwarf_Die scopes[HC_SYM_MAX_FRAMES];
	int nscopes = cudie ? scopes_at(m, cudie, a - dbias, scopes, HC_SYM_MAX_FRAMES) : 0;
	int saw_outer = 0;   /* the subprogram the inlined frames sit in */
	for (int i = 0; i < nscopes && n < HC_SYM_MAX_FRAMES; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_inlined_subroutine) {
			fr[n].function = die_name(&scopes[i]);
			fr[n].file = file;
			fr[n].dir = dir;
			fr[n].line = (unsigned)line;
			n++;
			/* The next frame out is at this instance's call site. */
			unsigned cl;
			file = call_site(&scopes[i], &dir, &cl);
			line = (int)cl;
		} else if (tag == DW_TAG_subprogram || tag == DW_TAG_entry_point) {
			fr[n].function = die_name(&scopes[i]);
			fr[n].file = file;
			fr[n].dir = dir;
			fr[n].line = (unsigned)line;
			n++;
			saw_outer = 1;
			break;
		}
	}

	/* No DWARF function (no -g, a stripped file, assembly), or an outer
	 * function DWARF does not name: the ELF symbol table's name (.symtab,
	 * else .dynsym), which names the function the code sits in. */
	if (n == 0 || !saw_outer || !fr[n - 1].function) {
		GElf_Off off;
		GElf_Sym sym;
		const char *name = dwfl_module_addrinfo(m->mod, a, &off, &sym, NULL, NULL, NULL);
		if (n == 0) {
			fr[0].function = name;
			fr[0].file = file0;
			fr[0].dir = dir0;
			fr[0].line = (unsigned)line0;
			n = 1;
		} else if (saw_outer) {
			fr[n - 1].function = name;
		} else if (n < HC_SYM_MAX_FRAMES) {
			fr[n].function = name;
			fr[n].file = file;
			fr[n].dir = dir;
			fr[n].line = (unsigned)line;
			n++;
		}
	}
	/* An inlined instance without a name cannot be shown as a frame;
	 * drop nameless frames (their line stays with no one, rarely). */
	int k = 0;
	for (int i = 0; i < n; i++)
		if (fr[i].function)
			fr[k++] = fr[i];
	return k;
}

/* --- the cache -------------------------------------------------------- */

static int entries_grow(struct hc_symbols *s)
{
	size_t ncap = s->entries_cap ? s->entries_cap * 2 : 4096;
	struct entry *n = calloc(ncap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < s->entries_cap; i++) {
		if (!s->entries[i].used)
			continue;
		size_t j = hc_mix64(s->entries[i].addr) & (ncap - 1);
		while (n[j].used)
			j = (j + 1) & (ncap - 1);
		n[j] = s->entries[i];
	}
	free(s->entries);
	s->entries = n;
	s->entries_cap = ncap;
	return 0;
}

static struct entry *entry_find(struct hc_symbols *s, uint64_t addr)
{
	if (!s->entries_cap)
		return NULL;
	for (size_t j = hc_mix64(addr) & (s->entries_cap - 1); s->entries[j].used;
	     j = (j + 1) & (s->entries_cap - 1))
		if (s->entries[j].addr == addr)
			return &s->entries[j];
	return NULL;
}

/* The entry for addr, added (empty) if new; NULL when out of memory. */
static struct entry *entry_get(struct hc_symbols *s, uint64_t addr)
{
	struct entry *e = entry_find(s, addr);
	if (e)
		return e;
	if (2 * (s->nentries + 1) > s->entries_cap && entries_grow(s))
		return NULL;
	size_t j = hc_mix64(addr) & (s->entries_cap - 1);
	while (s->entries[j].used)
		j = (j + 1) & (s->entries_cap - 1);
	e = &s->entries[j];
	memset(e, 0, sizeof(*e));
	e->used = 1;
	e->addr = addr;
	s->nentries++;
	return e;
}

/* Room for n more frames; the index of the first, or -ENOMEM. */
static long frames_alloc(struct hc_symbols *s, size_t n)
{
	if (s->nframes + n > s->frames_cap) {
		size_t ncap = s->frames_cap ? s->frames_cap * 2 : 4096;
		while (ncap < s->nframes + n)
			ncap *= 2;
		struct hc_sym_frame *f = realloc(s->frames, ncap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		s->frames = f;
		s->frames_cap = ncap;
	}
	size_t first = s->nframes;
	s->nframes += n;
	return (long)first;
}

int hc_symbols_add_stored(struct hc_symbols *s, const struct hc_rec *symbols_rec)
{
	struct hc_cur c, check;
	uint64_t count;
	if (hc_decode_symbols_begin(symbols_rec, &c, &count))
		return -EBADMSG;
	check = c;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t addr, nf;
		if (hc_decode_symbol(&check, &addr, &nf))
			return -EBADMSG;
		for (uint64_t k = 0; k < nf; k++) {
			struct hc_symbol_frame_rec f;
			if (hc_decode_symbol_frame(&check, &f))
				return -EBADMSG;
		}
	}
	for (uint64_t i = 0; i < count; i++) {
		uint64_t addr, nf;
		hc_decode_symbol(&c, &addr, &nf);
		struct entry *e = entry_get(s, addr);
		if (!e)
			return -ENOMEM;
		if (nf == 0) {
			if (e->stored != STORED_RESOLVED)
				e->stored = STORED_UNRESOLVED;
			continue;
		}
		size_t keep = nf < HC_SYM_MAX_FRAMES ? (size_t)nf : HC_SYM_MAX_FRAMES;
		long first = frames_alloc(s, keep);
		if (first < 0)
			return (int)first;
		for (uint64_t k = 0; k < nf; k++) {
			struct hc_symbol_frame_rec f;
			hc_decode_symbol_frame(&c, &f);
			if (k >= keep)
				continue;
			struct hc_sym_frame *o = &s->frames[(size_t)first + k];
			o->function = intern(s, f.function.p, f.function.len);
			o->file = f.file.len ? intern(s, f.file.p, f.file.len) : NULL;
			o->line = f.line <= 0xffffffffu ? (unsigned)f.line : 0;
			o->python = 0;
			if (!o->function || (f.file.len && !o->file))
				return -ENOMEM;
		}
		e->first = (size_t)first;
		e->n = (uint32_t)keep;
		e->stored = STORED_RESOLVED;
		e->done = 1;
	}
	return 0;
}

int hc_symbols_stored(struct hc_symbols *s, uint64_t addr)
{
	struct entry *e = entry_find(s, addr);
	if (!e || e->stored == STORED_NONE)
		return 0;
	return e->stored == STORED_RESOLVED ? 1 : -1;
}

/* Resolves addr from the files into its cache entry; 0 or -ENOMEM. */
static int resolve_disk(struct hc_symbols *s, uint64_t addr)
{
	struct raw_frame fr[HC_SYM_MAX_FRAMES];
	int n = 0;
	uint64_t pc = addr - 1;
	size_t i = span_lower(s, pc);
	if (addr != 0 && i < s->nspans && s->spans[i].start <= pc) {
		const struct span *sp = &s->spans[i];
		struct module *m = &s->mods[sp->module];
		if (m->state == 0) {
			if (s->nopen >= MAX_OPEN)
				close_lru(s);
			module_open(s, m);
			if (m->state > 0)
				s->nopen++;
		}
		m->last_used = ++s->clock;
		Dwarf_Addr a;
		if (m->state > 0 && offset_to_addr(m, sp->file_offset + (pc - sp->start), &a) == 0)
			n = resolve_in(m, a, fr);
	}
	long first = frames_alloc(s, (size_t)n);
	if (first < 0)
		return (int)first;
	for (int k = 0; k < n; k++) {
		struct hc_sym_frame *o = &s->frames[(size_t)first + (size_t)k];
		o->function = intern_name(s, fr[k].function);
		o->file = fr[k].file ? intern_path(s, fr[k].dir, fr[k].file) : NULL;
		o->line = fr[k].line;
		o->python = 0;
		if (!o->function || (fr[k].file && !o->file))
			return -ENOMEM;
	}
	struct entry *e = entry_get(s, addr);
	if (!e)
		return -ENOMEM;
	e->first = (size_t)first;
	e->n = (uint32_t)n;
	e->done = 1;
	e->generation = s->generation;
	return 0;
}

void hc_symbols_set_python(struct hc_symbols *s, const struct hc_pycodes *py)
{
	s->py = py;
}

/* A Python frame of a merged stack: its function, file and line. */
static int resolve_python(struct hc_symbols *s, uint64_t w, struct hc_sym_frame *out, int max,
			  struct hc_sym_where *where)
{
	if (where) {
		where->module = NULL;
		where->offset = 0;
	}
	const struct hc_pycode *c = s->py ? hc_pycodes_get(s->py, hc_pydisplay_code(w)) : NULL;
	if (max < 1)
		return 0;
	if (!c) { /* no CODE record for it (the shim said why in a NOTE) */
		out[0].function = "[unknown Python code]";
		out[0].file = NULL;
		out[0].line = 0;
		out[0].python = 1;
		return 1;
	}
	out[0].function = c->qualname;
	out[0].file = c->filename;
	out[0].line = hc_pydisplay_line(w);
	out[0].python = 1;
	return 1;
}

int hc_symbols_resolve(struct hc_symbols *s, uint64_t addr, struct hc_sym_frame *out, int max,
		       struct hc_sym_where *where)
{
	if (hc_pydisplay_is(addr))
		return resolve_python(s, addr, out, max, where);
	if (hc_frame_is_mmap(addr)) { /* no code: a mapping's pseudo-frame */
		if (where) {
			where->module = NULL;
			where->offset = 0;
		}
		if (max < 1)
			return 0;
		out[0] = (struct hc_sym_frame){.function = "[anonymous mmap]"};
		return 1;
	}
	if (where) {
		where->module = NULL;
		where->offset = 0;
		uint64_t pc = addr - 1;
		size_t i = span_lower(s, pc);
		if (addr != 0 && i < s->nspans && s->spans[i].start <= pc) {
			where->module = s->mods[s->spans[i].module].path;
			where->offset = s->spans[i].file_offset + (addr - s->spans[i].start);
		}
	}
	struct entry *e = entry_find(s, addr);
	/* Stored frames are final; a disk answer holds while the map is the
	 * one it was found with. */
	if (!e || !e->done ||
	    (e->stored != STORED_RESOLVED && e->generation != s->generation)) {
		if (resolve_disk(s, addr))
			return 0;
		e = entry_find(s, addr);
	}
	int n = (int)e->n < max ? (int)e->n : max;
	for (int k = 0; k < n; k++)
		out[k] = s->frames[e->first + (size_t)k];
	return n < 0 ? 0 : n;
}
