/* Where an object's calls to the allocator go: reads its GOT slots
 * (JUMP_SLOT relocations) for malloc, calloc, realloc, free and
 * posix_memalign, and names the object each one leads to.
 * usage: gotslots, then commands on stdin, one a line:
 *   show OBJ  "OBJ: malloc=libc.so.6 calloc=... free=..." for the object
 *             whose file name contains OBJ ("self": the program); "plt"
 *             for a slot not bound yet, "-" for a name it does not call
 *   keep N    N blocks of 4321 bytes allocated (a third each by malloc,
 *             calloc, realloc of a malloc'd 16) and kept; says "kept N"
 *   temp N    N blocks of 1234 bytes allocated and freed; says "temp N"
 *   dlloop LIB a thread opens LIB (RTLD_NOW), calls its plugin_alloc and
 *             frees the block, closes it, and again, until the end;
 *             says "dlloop"
 *   loops     "loops N": the times that thread went round so far
 *   relro rw|ro  the program's RELRO pages made writable (as while the
 *             loader relocates an object) or read-only again; says "relro
 *             rw" or "relro ro"
 *   quit
 * Each command's answer is one line, flushed. Every name is called once
 * before the first command, so that lazy slots of the program are bound. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <pthread.h>

static char loop_lib[200];
static _Atomic long loops;

static void *dlloop(void *arg)
{
	(void)arg;
	for (;;) {
		void *h = dlopen(loop_lib, RTLD_NOW);
		if (!h)
			return NULL;
		void *(*alloc)(size_t) = (void *(*)(size_t))dlsym(h, "plugin_alloc");
		if (alloc)
			free(alloc(100));
		dlclose(h);
		loops++;
	}
}

static const char *const names[] = {"malloc", "calloc", "realloc", "free", "posix_memalign"};
#define NNAMES (sizeof names / sizeof names[0])

/* Filled inside dl_iterate_phdr, which holds a loader lock that dladdr
 * must not be called under (a dlopen in another thread holds the other one
 * and waits for it): the slots' values are named after. */
struct query {
	const char *obj;
	char out[512];
	int found;
	uintptr_t lo, hi;
	uintptr_t value[NNAMES];
	int has[NNAMES];
};

static uintptr_t ptr(uintptr_t base, uintptr_t v)
{
	return v < base ? v + base : v;
}

static const char *leads_to(uintptr_t v, uintptr_t lo, uintptr_t hi)
{
	if (v >= lo && v < hi)
		return "plt";
	Dl_info d;
	if (!dladdr((void *)v, &d) || !d.dli_fname)
		return "?";
	const char *b = strrchr(d.dli_fname, '/');
	return b ? b + 1 : d.dli_fname;
}

static int one(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct query *q = arg;
	const char *name = info->dlpi_name;
	if (q->found || !(strcmp(q->obj, "self") ? name && strstr(name, q->obj) : !name || !*name))
		return 0;
	uintptr_t base = info->dlpi_addr, lo = UINTPTR_MAX, hi = 0;
	const ElfW(Dyn) *dyn = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD) {
			if (base + ph->p_vaddr < lo)
				lo = base + ph->p_vaddr;
			if (base + ph->p_vaddr + ph->p_memsz > hi)
				hi = base + ph->p_vaddr + ph->p_memsz;
		} else if (ph->p_type == PT_DYNAMIC) {
			dyn = (const ElfW(Dyn) *)(base + ph->p_vaddr);
		}
	}
	if (!dyn)
		return 0;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *rel = NULL;
	size_t n = 0;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_SYMTAB)
			symtab = (const ElfW(Sym) *)ptr(base, d->d_un.d_ptr);
		else if (d->d_tag == DT_STRTAB)
			strtab = (const char *)ptr(base, d->d_un.d_ptr);
		else if (d->d_tag == DT_JMPREL)
			rel = (const ElfW(Rela) *)ptr(base, d->d_un.d_ptr);
		else if (d->d_tag == DT_PLTRELSZ)
			n = d->d_un.d_val / sizeof(ElfW(Rela));
	}
	for (size_t r = 0; rel && symtab && strtab && r < n; r++) {
		if (ELF64_R_TYPE(rel[r].r_info) != R_X86_64_JUMP_SLOT)
			continue;
		const char *s = strtab + symtab[ELF64_R_SYM(rel[r].r_info)].st_name;
		for (size_t i = 0; i < NNAMES; i++)
			if (!strcmp(s, names[i])) {
				q->value[i] = *(uintptr_t *)(base + rel[r].r_offset);
				q->has[i] = 1;
			}
	}
	q->lo = lo, q->hi = hi;
	q->found = 1;
	return 0;
}

static void name_slots(struct query *q)
{
	int len = snprintf(q->out, sizeof(q->out), "%s:", q->obj);
	for (size_t i = 0; i < NNAMES && len > 0 && (size_t)len < sizeof(q->out); i++)
		len += snprintf(q->out + len, sizeof(q->out) - len, " %s=%s", names[i],
				q->has[i] ? leads_to(q->value[i], q->lo, q->hi) : "-");
}

static int relro(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (info->dlpi_name && *info->dlpi_name)
		return 0; /* the program is the one with no name */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_GNU_RELRO)
			continue;
		uintptr_t a = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)4095;
		uintptr_t b = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(uintptr_t)4095;
		*(int *)arg = b > a && !mprotect((void *)a, b - a, *(int *)arg);
		return 1;
	}
	return 0;
}

int main(void)
{
	char *volatile p = malloc(8), *volatile c = calloc(1, 8);
	void *m = NULL;
	p = realloc(p, 16);
	if (!p || !c || posix_memalign(&m, 64, 64))
		return 1;
	p[0] = c[0] = 1;
	free(p), free(c), free(m);

	char line[256], arg[200];
	long k;
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "show %199s", arg) == 1) {
			struct query q = {.obj = arg};
			dl_iterate_phdr(one, &q);
			if (q.found)
				name_slots(&q);
			printf("%s\n", q.found ? q.out : "no such object");
		} else if (sscanf(line, "keep %ld", &k) == 1) {
			for (long i = 0; i < k; i++) {
				void *b = i % 3 == 0   ? malloc(4321)
					  : i % 3 == 1 ? calloc(1, 4321)
						       : realloc(malloc(16), 4321);
				if (!b)
					return 1;
				memset(b, 1, 4321); /* kept: the program's on purpose */
			}
			printf("kept %ld\n", k);
		} else if (sscanf(line, "temp %ld", &k) == 1) {
			for (long i = 0; i < k; i++) {
				char *b = malloc(1234);
				if (!b)
					return 1;
				b[0] = 1;
				free(b);
			}
			printf("temp %ld\n", k);
		} else if (sscanf(line, "dlloop %199s", loop_lib) == 1) {
			pthread_t t;
			if (pthread_create(&t, NULL, dlloop, NULL))
				return 1;
			printf("dlloop\n");
		} else if (sscanf(line, "relro %199s", arg) == 1) {
			int prot = strcmp(arg, "rw") ? PROT_READ : PROT_READ | PROT_WRITE;
			dl_iterate_phdr(relro, &prot);
			if (prot == 1)
				printf("relro %s\n", arg);
			else
				printf("no relro\n");
		} else if (!strncmp(line, "loops", 5)) {
			printf("loops %ld\n", (long)loops);
		} else if (!strncmp(line, "quit", 4)) {
			break;
		}
		fflush(stdout);
	}
	return 0;
}
