/* Dormant mode's allocation calls past the shim. While a dormant process
 * records nothing, each object's own GOT slots for the allocating entry
 * points (malloc, calloc, realloc, the memalign family, operator new) are
 * pointed at the next allocator's functions, so that the program's call is
 * its one indirect jump (through the PLT), as without the shim. Through
 * passthru.c's entry points the call took a second one: 1.02x on the churn
 * benchmark, against 1.003x with the slots pointed (pinned pairs, see
 * docs/performance.md). Before a window's first event the slots are
 * pointed back at the shim; when it closes, away again.
 *
 * What stays on the shim, and why:
 * - free, delete and the rest: `heapcreep on` wakes a dormant process by
 *   writing a word that the next hook call reads (analyzer/window.c), and
 *   nothing else runs in the process. A program that allocates frees, so
 *   its frees keep reaching the shim. (A program that never frees is woken
 *   by libc's own calls, which stay on the shim too.)
 * - libc, ld.so, the shim, and what the shim calls into while it works
 *   (libunwind and liblzma, libzstd, libm): they may free blocks of the
 *   shim's own heap, which the next allocator must never see.
 * - Objects of other link-map namespaces (dlmopen): their slots lead to
 *   their own libc.
 * - A slot is pointed only where it leads to the shim's entry point, or is
 *   an unbound lazy slot (to its PLT) of an object whose lookups reach the
 *   shim: not one of a plugin opened with RTLD_DEEPBIND (hooks_dl.c, which
 *   names them here). It is pointed back only where it leads to the next
 *   allocator's function.
 * The slots are written inside dl_iterate_phdr, which holds the loader's
 * lock that dlclose takes before it unmaps an object: no object goes away
 * under the write. A deep-bound plugin's slots (hooks_dl.c) are written
 * under the slots lock (elfdyn.c), as these are. An object that a dlopen
 * in another thread is still relocating is listed too; the loader makes its
 * RELRO pages read-only once its relocations are done, so an object whose
 * RELRO pages are not read-only in /proc/self/maps (read just before) is
 * left alone: making them read-only early would fault the loader.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "mem.h"

/* The allocating entry points, and where hc_real keeps the next
 * allocator's function for each. */
static const struct {
	const char *name;
	size_t off;
} names[] = {
	{"malloc", offsetof(struct hc_real, malloc)},
	{"calloc", offsetof(struct hc_real, calloc)},
	{"realloc", offsetof(struct hc_real, realloc)},
	{"posix_memalign", offsetof(struct hc_real, posix_memalign)},
	{"aligned_alloc", offsetof(struct hc_real, aligned_alloc)},
	{"memalign", offsetof(struct hc_real, memalign)},
	{"valloc", offsetof(struct hc_real, valloc)},
	{"pvalloc", offsetof(struct hc_real, pvalloc)},
	/* hooks_cxx.c's order */
	{"_Znwm", offsetof(struct hc_real, cxx_new[0])},
	{"_Znam", offsetof(struct hc_real, cxx_new[1])},
	{"_ZnwmRKSt9nothrow_t", offsetof(struct hc_real, cxx_new[2])},
	{"_ZnamRKSt9nothrow_t", offsetof(struct hc_real, cxx_new[3])},
	{"_ZnwmSt11align_val_t", offsetof(struct hc_real, cxx_new[4])},
	{"_ZnamSt11align_val_t", offsetof(struct hc_real, cxx_new[5])},
	{"_ZnwmSt11align_val_tRKSt9nothrow_t", offsetof(struct hc_real, cxx_new[6])},
	{"_ZnamSt11align_val_tRKSt9nothrow_t", offsetof(struct hc_real, cxx_new[7])},
};
#define NNAMES (sizeof names / sizeof names[0])

/* Objects whose slots stay on the shim, by the start of their file name. */
static const char *const keep[] = {
	"libc.so.", "ld-linux", "libunwind", "liblzma.so", "libzstd.so", "libm.so.",
};

/* For each name: the shim's entry point (0 when the program's lookups reach
 * another definition: the program's own allocator) and the next one. */
static uintptr_t shim_def[NNAMES], next_def[NNAMES];
static uintptr_t shim_lo; /* where the shim is loaded */

/* Objects brought in by RTLD_DEEPBIND opens (their program headers): their
 * lazy slots bind past the shim. More than fit: lazy slots are left. */
#define DEEP_MAX 64
static const void *deep[DEEP_MAX];
static _Atomic unsigned ndeep;
static _Atomic int deep_overflow;

void hc_bypass_deep(const void *phdr)
{
	unsigned i = atomic_fetch_add(&ndeep, 1);
	if (i < DEEP_MAX)
		deep[i] = phdr;
	else
		atomic_store(&deep_overflow, 1);
}

static int is_deep(const void *phdr)
{
	unsigned n = atomic_load(&ndeep);
	for (unsigned i = 0; i < n && i < DEEP_MAX; i++)
		if (deep[i] == phdr)
			return 1;
	return 0;
}

static int known;

/* The definitions, looked up outside dl_iterate_phdr (dlsym takes the
 * loader's other lock). 0 when the shim cannot work this way here. */
static int know(void)
{
	if (known)
		return known > 0;
	known = -1;
	Dl_info self;
	struct link_map *lm = NULL;
	if (!dladdr1((void *)&hc_real, &self, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return 0;
	int any = 0;
	for (size_t i = 0; i < NNAMES; i++) {
		Dl_info d;
		void *g = dlsym(RTLD_DEFAULT, names[i].name);
		next_def[i] = *(uintptr_t *)((char *)&hc_real + names[i].off);
		if (g && next_def[i] && dladdr(g, &d) && d.dli_fbase == self.dli_fbase) {
			shim_def[i] = (uintptr_t)g;
			any = 1;
		}
	}
	shim_lo = (uintptr_t)self.dli_fbase;
	known = any ? 1 : -1;
	return any;
}

static int name_index(const char *s)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (s[0] == names[i].name[0] && !strcmp(s, names[i].name))
			return (int)i;
	return -1;
}

static int kept(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		if (!strncmp(base, keep[i], strlen(keep[i])))
			return 1;
	return 0;
}

/* Whether the object is in the program's namespace (the base one's list,
 * which dlopen changes only under the lock dl_iterate_phdr holds). */
static int base_namespace(uintptr_t addr, const ElfW(Dyn) *dyn)
{
	for (const struct link_map *l = _r_debug.r_map; l; l = l->l_next)
		if (l->l_addr == addr && l->l_ld == dyn)
			return 1;
	return 0;
}

/* The process's read-only mappings (/proc/self/maps), in order of address:
 * start and end, two words each. A RELRO region made read-only lies in one
 * (the kernel may merge it with the read-only mapping before it). */
struct ro {
	uintptr_t *span;
	size_t n, cap; /* spans */
};

static int ro_add(struct ro *r, uintptr_t a, uintptr_t b)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		uintptr_t *s = hc_map(2 * cap * sizeof(*s));
		if (!s)
			return -1;
		if (r->span) {
			memcpy(s, r->span, 2 * r->n * sizeof(*s));
			hc_unmap(r->span, 2 * r->cap * sizeof(*s));
		}
		r->span = s, r->cap = cap;
	}
	r->span[2 * r->n] = a;
	r->span[2 * r->n + 1] = b;
	r->n++;
	return 0;
}

static uintptr_t hex(const char **p)
{
	uintptr_t v = 0;
	for (;; (*p)++) {
		char c = **p;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
						    : 16;
		if (d == 16)
			return v;
		v = v * 16 + d;
	}
}

/* 0, or -1 when the maps cannot be read (then no object is touched). */
static int read_only_maps(struct ro *r)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[4096];
	size_t have = 0;
	int rc = 0;
	for (;;) {
		ssize_t got = read(fd, buf + have, sizeof(buf) - have);
		if (got < 0) {
			rc = -1;
			break;
		}
		have += (size_t)got;
		char *nl;
		size_t used = 0;
		while ((nl = memchr(buf + used, '\n', have - used))) {
			const char *p = buf + used; /* start-end perms ... */
			uintptr_t a = hex(&p);
			if (*p == '-') {
				p++;
				uintptr_t b = hex(&p);
				if (*p == ' ' && p[1] == 'r' && p[2] == '-' && ro_add(r, a, b))
					rc = -1;
			}
			used = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + used, have - used);
		have -= used;
		if (got == 0 || have == sizeof(buf) || rc)
			break;
	}
	close(fd);
	return rc;
}

/* Whether [a, b) lies in one read-only mapping. */
static int read_only(const struct ro *r, uintptr_t a, uintptr_t b)
{
	size_t lo = 0, hi = r->n; /* the first span that starts after a */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->span[2 * mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && b <= r->span[2 * (lo - 1) + 1];
}

struct pass {
	int away;         /* 1: to the next allocator; 0: back to the shim */
	unsigned written; /* slots written */
	struct ro ro;
};

static int one_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct pass *ps = arg;
	struct hc_elfobj o;
	hc_elfobj_read(info, &o);
	if (!o.dyn || (shim_lo >= o.lo && shim_lo < o.hi) ||
	    kept(info->dlpi_name ? info->dlpi_name : "") || !base_namespace(o.base, o.dyn))
		return 0;
	/* No RELRO (-z norelro): nothing says its relocation is done, so only
	 * slots already bound (to the shim, or by us) are written. */
	int done = o.relro_hi > o.relro_lo && read_only(&ps->ro, o.relro_lo, o.relro_hi);
	if (o.relro_hi > o.relro_lo && !done)
		return 0; /* being loaded */
	struct hc_elftables tb;
	if (hc_elftables_read(&o, &tb) || !tb.rela[0])
		return 0;
	int lazy_ok = done && !atomic_load(&deep_overflow) && !is_deep(info->dlpi_phdr);
	int opened = 0;
	for (size_t r = 0; r < tb.nrela[0]; r++) {
		const ElfW(Rela) *rel = &tb.rela[0][r];
		if (ELF64_R_TYPE(rel->r_info) != R_X86_64_JUMP_SLOT)
			continue;
		const ElfW(Sym) *sym = &tb.symtab[ELF64_R_SYM(rel->r_info)];
		if (!ELF64_R_SYM(rel->r_info) || sym->st_shndx != SHN_UNDEF ||
		    sym->st_name >= tb.strsz)
			continue; /* an object that defines the name may bind to itself */
		int i = name_index(tb.strtab + sym->st_name);
		if (i < 0 || !shim_def[i])
			continue;
		uintptr_t slot = o.base + rel->r_offset;
		if (slot < o.lo || slot + 8 > o.hi || slot % 8)
			continue;
		uintptr_t cur = __atomic_load_n((uintptr_t *)slot, __ATOMIC_RELAXED), to;
		if (ps->away && (cur == shim_def[i] || (lazy_ok && cur >= o.lo && cur < o.hi)))
			to = next_def[i];
		else if (!ps->away && cur == next_def[i])
			to = shim_def[i];
		else
			continue;
		if (hc_slots_write(&o, &opened, slot, to))
			return 0; /* left as it is: the shim still serves it */
		ps->written++;
	}
	hc_slots_close(&o, opened);
	return 0;
}

unsigned hc_bypass_set(int away)
{
	if (!hc_resolved() || !know())
		return 0;
	struct pass ps = {.away = away};
	if (read_only_maps(&ps.ro) == 0)
		hc_phdr_iterate(one_object, &ps, HC_PHDR_WAIT);
	if (ps.ro.span)
		hc_unmap(ps.ro.span, 2 * ps.ro.cap * sizeof(*ps.ro.span));
	/* The stores are seen by the other threads before the caller's next
	 * change of state (hc_tracing_set's sequentially consistent store). */
	atomic_thread_fence(memory_order_seq_cst);
	return ps.written;
}
