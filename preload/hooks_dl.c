/* Libraries opened with RTLD_DEEPBIND. Such a library looks its symbols up
 * in its own dependencies first: its calls to malloc, free, mmap... bind to
 * libc's definitions, past the shim, so that blocks crossing between it and
 * the program would be unknown frees and false leaks.
 *
 * The shim does not strip the flag (as heaptrack does): the plugin chose to
 * bind its other symbols deeply, and the program must behave as it does
 * without the shim. Instead, once the plugin is loaded, each object that
 * dlopen brought in gets its relocations for the entry points the shim
 * interposes (its GOT slots) pointed at the program's own definition (the
 * shim's hook), where the plugin binds to the very definition the hook
 * passes calls on to (libc's malloc behind the shim). A plugin that brings
 * an allocator of its own keeps it. What the plugin's constructors
 * allocate inside dlopen, before the slots are pointed, is not seen; a
 * later free of it is an unknown free (counted).
 *
 * dlopen itself finds its caller's object from its return address (for the
 * caller's RPATH/RUNPATH and $ORIGIN): the hook is a stub that jumps to the
 * real dlopen with the caller's return address in place, so every call
 * without RTLD_DEEPBIND is exactly the program's. For a deep-bound call
 * with a bare name or $ORIGIN, the name is resolved first as the caller
 * would see it: $ORIGIN from the caller's object, a bare name along the
 * caller's search path (RTLD_DI_SERINFO) where that path differs from the
 * shim's. Objects in other link-map namespaces (dlmopen) have their own
 * libc and allocator; they are left alone.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "mem.h"

/* The next dlopen (libc's): read by the stub below. */
void *hc_real_dlopen HC_HIDDEN;
void *hc_dlopen_deep(const char *file, int mode) HC_HIDDEN;
void hc_dl_resolve(void) HC_HIDDEN;

/* dlopen: RTLD_DEEPBIND (8) goes to hc_dlopen_deep, everything else to the
 * real dlopen, both by a jump, so the caller's return address is the one
 * dlopen sees. Resolves first if no allocation came before. */
__asm__(".text\n"
	".globl dlopen\n"
	".type dlopen, @function\n"
	"dlopen:\n"
	"	.cfi_startproc\n"
	"	movq hc_real_dlopen(%rip), %rax\n"
	"	testq %rax, %rax\n"
	"	jz 2f\n"
	"	testl $8, %esi\n"
	"	jnz 1f\n"
	"	jmp *%rax\n"
	"1:	jmp hc_dlopen_deep\n"
	"2:	pushq %rdi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %rsi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	subq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	call hc_dl_resolve\n"
	"	addq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rsi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rdi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	movq hc_real_dlopen(%rip), %rax\n"
	"	testl $8, %esi\n"
	"	jnz 1b\n"
	"	jmp *%rax\n"
	"	.cfi_endproc\n"
	".size dlopen, .-dlopen\n");

/* When even dlsym cannot find dlopen: no library can be opened. */
static void *no_dlopen(const char *file, int mode)
{
	(void)file, (void)mode;
	return NULL;
}

void hc_resolve_dl(void) HC_HIDDEN;
void hc_resolve_dl(void)
{
	void *f = dlsym(RTLD_NEXT, "dlopen");
	__atomic_store_n(&hc_real_dlopen, f ? f : (void *)no_dlopen, __ATOMIC_RELEASE);
}

/* The stub's way when dlopen comes before any allocation. */
void hc_dl_resolve(void)
{
	hc_resolve();
	if (!__atomic_load_n(&hc_real_dlopen, __ATOMIC_ACQUIRE)) {
		sigset_t saved;
		hc_own_enter(&saved);
		hc_resolve_dl();
		hc_own_leave(&saved);
	}
}

/* --- the entry points a deep-bound object is pointed away from ---------- */

/* Every name the shim interposes (exports.map) but __libc_start_main,
 * which no library calls. */
static const char *const names[] = {
	"malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc", "malloc_usable_size",
	"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
	"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
	"_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
	"_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t",
	"_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t",
	"_ZdaPvmSt11align_val_t", "_ZdlPvSt11align_val_tRKSt9nothrow_t",
	"_ZdaPvSt11align_val_tRKSt9nothrow_t",
	"mallocx", "rallocx", "xallocx", "sallocx", "dallocx", "sdallocx", "nallocx",
	"mmap", "mmap64", "munmap", "mremap",
	"exit", "_exit", "_Exit",
	"execve", "execv", "execvp", "execvpe", "execl", "execle", "execlp", "fexecve", "execveat",
	"dlopen",
};
#define NNAMES (sizeof names / sizeof names[0])

/* For each name: what the program's calls reach (the global scope: the
 * hook) and what the hook passes them on to (the next definition). */
static void *global_def[NNAMES], *next_def[NNAMES];
static int defs_known;

static void know_defs(void)
{
	if (defs_known)
		return;
	for (size_t i = 0; i < NNAMES; i++) {
		global_def[i] = dlsym(RTLD_DEFAULT, names[i]);
		next_def[i] = dlsym(RTLD_NEXT, names[i]);
	}
	defs_known = 1;
}

static int name_index(const char *s)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (s[0] == names[i][0] && !strcmp(s, names[i]))
			return (int)i;
	return -1;
}

/* --- the objects a dlopen brought in ------------------------------------- */

struct objects {
	size_t n, cap;
	const void **phdr; /* an object's program headers: one address each */
};

static int count_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)info, (void)size;
	++*(size_t *)arg;
	return 0;
}

static int collect_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct objects *o = arg;
	if (o->n < o->cap)
		o->phdr[o->n++] = info->dlpi_phdr;
	return 0;
}

/* Room for the objects loaded now and a few that may come meanwhile. */
static size_t objects_room(void)
{
	size_t n = 0;
	hc_phdr_iterate(count_one, &n, HC_PHDR_WAIT);
	return n + 16;
}

static void snapshot(struct objects *o)
{
	o->n = 0;
	o->cap = objects_room();
	o->phdr = hc_map(o->cap * sizeof(*o->phdr));
	if (!o->phdr)
		o->cap = 0;
	else
		hc_phdr_iterate(collect_one, o, HC_PHDR_WAIT);
}

static int known(const struct objects *o, const void *phdr)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->phdr[i] == phdr)
			return 1;
	return 0;
}

/* The new objects, read inside dl_iterate_phdr and pointed outside it
 * (dlsym takes the loader's lock). */
struct news {
	const struct objects *before;
	size_t n, cap;
	struct hc_elfobj *t;
};

static int find_new(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct news *nw = arg;
	if ((nw->before->cap && known(nw->before, info->dlpi_phdr)) || nw->n >= nw->cap)
		return 0;
	struct hc_elfobj t;
	hc_elfobj_read(info, &t);
	if (t.dyn)
		nw->t[nw->n++] = t;
	hc_bypass_deep(info->dlpi_phdr); /* its lazy slots bind past the shim */
	return 0;
}

/* --- pointing an object's slots at the hooks ----------------------------- */

/* How one dlopen's objects bind each name (its handle's scope: the deep
 * one), looked up once per name. */
struct binding {
	void *handle;
	void *deep[NNAMES];
	unsigned char looked[NNAMES];
};

static void *deep_def(struct binding *b, int i)
{
	if (!b->looked[i]) {
		b->deep[i] = dlsym(b->handle, names[i]);
		b->looked[i] = 1;
	}
	return b->deep[i];
}

static void point(const struct hc_elfobj *t, struct binding *b)
{
	struct hc_elftables tb;
	if (hc_elftables_read(t, &tb))
		return;
	int opened = 0;
	/* Twice: the lookups (dlsym takes the loader's lock) first, then the
	 * writes under the slots lock (bypass.c takes it holding that lock). */
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < 2; k++) {
			for (size_t r = 0; r < tb.nrela[k]; r++) {
				const ElfW(Rela) *rel = &tb.rela[k][r];
				unsigned type = ELF64_R_TYPE(rel->r_info);
				if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT &&
				    !(type == R_X86_64_64 && rel->r_addend == 0))
					continue;
				const ElfW(Sym) *sym = &tb.symtab[ELF64_R_SYM(rel->r_info)];
				if (!ELF64_R_SYM(rel->r_info) || sym->st_shndx != SHN_UNDEF ||
				    sym->st_name >= tb.strsz)
					continue;
				int i = name_index(tb.strtab + sym->st_name);
				if (i < 0 || !global_def[i] || !next_def[i])
					continue;
				void *deep = deep_def(b, i);
				if (!pass)
					continue;
				if (deep != next_def[i] || deep == global_def[i])
					continue; /* binds to the program's, or to its own */
				uintptr_t slot = t->base + rel->r_offset;
				if (slot < t->lo || slot + 8 > t->hi)
					continue;
				uintptr_t cur = *(uintptr_t *)slot;
				if (cur != (uintptr_t)next_def[i] && (cur < t->lo || cur >= t->hi))
					continue; /* neither bound there nor a lazy stub */
				if (hc_slots_write(t, &opened, slot, (uintptr_t)global_def[i]))
					return;
			}
		}
	}
	hc_slots_close(t, opened);
}

static void point_new_objects(void *handle, const struct objects *before)
{
	know_defs();
	struct news nw = {.before = before, .cap = objects_room()};
	nw.t = hc_map(nw.cap * sizeof(*nw.t));
	if (!nw.t)
		return;
	hc_phdr_iterate(find_new, &nw, HC_PHDR_WAIT);
	struct binding *b = hc_map(sizeof(*b));
	if (b) {
		b->handle = handle;
		for (size_t i = 0; i < nw.n; i++) {
			/* only the program's namespace: a dlmopen'd one has its own libc */
			Dl_info info;
			struct link_map *lm = NULL;
			Lmid_t ns = -1;
			if (dladdr1((void *)nw.t[i].dyn, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm &&
			    dlinfo(lm, RTLD_DI_LMID, &ns) == 0 && ns == LM_ID_BASE)
				point(&nw.t[i], b);
		}
		hc_unmap(b, sizeof(*b));
	}
	hc_unmap(nw.t, nw.cap * sizeof(*nw.t));
}

/* --- the caller's view of a name ----------------------------------------- */

static int elf_for_us(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ElfW(Ehdr) e;
	ssize_t n = read(fd, &e, sizeof(e));
	close(fd);
	return n == (ssize_t)sizeof(e) && !memcmp(e.e_ident, ELFMAG, SELFMAG) &&
	       e.e_ident[EI_CLASS] == ELFCLASS64 && e.e_ident[EI_DATA] == ELFDATA2LSB &&
	       e.e_machine == EM_X86_64 && e.e_type == ET_DYN;
}

static Dl_serinfo *search_path(void *lm, size_t *size)
{
	Dl_serinfo head;
	if (dlinfo(lm, RTLD_DI_SERINFOSIZE, &head))
		return NULL;
	Dl_serinfo *si = hc_map(head.dls_size);
	if (!si)
		return NULL;
	*si = head;
	if (dlinfo(lm, RTLD_DI_SERINFO, si)) {
		hc_unmap(si, head.dls_size);
		return NULL;
	}
	*size = head.dls_size;
	return si;
}

/* A bare name: the directories of the caller's search path that the shim's
 * does not end with (its RPATH, LD_LIBRARY_PATH, RUNPATH: the system
 * directories and ld.so.cache are everyone's), searched in order. */
static int find_on_callers_path(void *caller_lm, const char *file, char *out, size_t cap)
{
	Dl_info info;
	struct link_map *self = NULL;
	if (!dladdr1((void *)hc_dlopen_deep, &info, (void **)&self, RTLD_DL_LINKMAP) || !self)
		return 0;
	size_t csize = 0, ssize = 0;
	Dl_serinfo *c = search_path(caller_lm, &csize);
	Dl_serinfo *s = search_path(self, &ssize);
	int found = 0;
	if (c && s) {
		unsigned nc = c->dls_cnt, ns = s->dls_cnt;
		while (nc && ns && !strcmp(c->dls_serpath[nc - 1].dls_name,
					   s->dls_serpath[ns - 1].dls_name))
			nc--, ns--;
		for (unsigned i = 0; i < nc && !found; i++) {
			int n = snprintf(out, cap, "%s/%s", c->dls_serpath[i].dls_name, file);
			found = n > 0 && (size_t)n < cap && elf_for_us(out);
		}
	}
	if (c)
		hc_unmap(c, csize);
	if (s)
		hc_unmap(s, ssize);
	return found;
}

/* $ORIGIN and ${ORIGIN} replaced by the caller's directory ($LIB and
 * $PLATFORM are the same for every caller: left to dlopen). */
static int expand_origin(void *caller_lm, const char *file, char *out, size_t cap)
{
	char origin[PATH_MAX];
	if (dlinfo(caller_lm, RTLD_DI_ORIGIN, origin))
		return 0;
	size_t n = 0;
	for (const char *p = file; *p;) {
		size_t skip = !strncmp(p, "$ORIGIN", 7) && !(p[7] == '_' || (p[7] >= 'A' && p[7] <= 'Z') ||
							 (p[7] >= 'a' && p[7] <= 'z') ||
							 (p[7] >= '0' && p[7] <= '9'))
				      ? 7
			      : !strncmp(p, "${ORIGIN}", 9) ? 9
							    : 0;
		const char *add = skip ? origin : p;
		size_t len = skip ? strlen(origin) : 1;
		if (n + len + 1 > cap)
			return 0;
		memcpy(out + n, add, len);
		n += len;
		p += skip ? skip : 1;
	}
	out[n] = 0;
	return 1;
}

void *hc_dlopen_deep(const char *file, int mode)
{
	void *caller = __builtin_return_address(0);
	void *(*real)(const char *, int) = (void *(*)(const char *, int))hc_real_dlopen;
	char path[PATH_MAX];
	const char *use = file;
	sigset_t saved;
	hc_own_enter(&saved);
	if (file && (!strchr(file, '/') || strchr(file, '$'))) {
		Dl_info info;
		void *lm = NULL;
		if (dladdr1(caller, &info, &lm, RTLD_DL_LINKMAP) && lm) {
			if (strchr(file, '$')) {
				if (expand_origin(lm, file, path, sizeof(path)))
					use = path;
			} else {
				/* already loaded under this name: the name decides */
				void *h0 = real(file, RTLD_LAZY | RTLD_NOLOAD);
				if (h0)
					dlclose(h0);
				else if (find_on_callers_path(lm, file, path, sizeof(path)))
					use = path;
			}
		}
	}
	struct objects before;
	snapshot(&before);
	hc_own_leave(&saved);

	void *h = real(use, mode); /* the program's own work: traced as such */

	int e = errno;
	hc_own_enter(&saved);
	if (h) {
		point_new_objects(h, &before);
		dlerror(); /* a lookup of a name the plugin lacks left an error */
	}
	if (before.phdr)
		hc_unmap(before.phdr, before.cap * sizeof(*before.phdr));
	hc_own_leave(&saved);
	errno = e;
	return h;
}
