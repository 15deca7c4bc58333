/* An object's dynamic section and GOT slots, as the loader left them: read,
 * and written under the slots lock (its RELRO pages writable only while it
 * is held), for bypass.c and hooks_dl.c. Never allocates, never calls into
 * the loader (dlsym, dladdr): bypass.c calls it inside dl_iterate_phdr.
 */
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

void hc_elfobj_read(const struct dl_phdr_info *info, struct hc_elfobj *o)
{
	*o = (struct hc_elfobj){.base = info->dlpi_addr, .lo = UINTPTR_MAX};
	long pg = sysconf(_SC_PAGESIZE);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD) {
			if (a < o->lo)
				o->lo = a;
			if (a + ph->p_memsz > o->hi)
				o->hi = a + ph->p_memsz;
		} else if (ph->p_type == PT_DYNAMIC) {
			o->dyn = (const ElfW(Dyn) *)a;
		} else if (ph->p_type == PT_GNU_RELRO) {
			o->relro_lo = a & ~(uintptr_t)(pg - 1);
			o->relro_hi = (a + ph->p_memsz) & ~(uintptr_t)(pg - 1);
		}
	}
}

static uintptr_t dyn_ptr(const struct hc_elfobj *o, uintptr_t v)
{
	/* glibc relocates these entries in place; the vDSO's and a few
	 * others' are still file offsets */
	return v < o->base ? v + o->base : v;
}

int hc_elftables_read(const struct hc_elfobj *o, struct hc_elftables *tb)
{
	memset(tb, 0, sizeof(*tb));
	uintptr_t jmprel = 0, rela = 0;
	size_t pltrelsz = 0, relasz = 0;
	int pltrel = DT_RELA;
	for (const ElfW(Dyn) *d = o->dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: tb->symtab = (const ElfW(Sym) *)dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_STRTAB: tb->strtab = (const char *)dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_STRSZ: tb->strsz = d->d_un.d_val; break;
		case DT_JMPREL: jmprel = dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
		case DT_PLTREL: pltrel = (int)d->d_un.d_val; break;
		case DT_RELA: rela = dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_RELASZ: relasz = d->d_un.d_val; break;
		}
	}
	if (!tb->symtab || !tb->strtab)
		return -1;
	if (jmprel && pltrel == DT_RELA) {
		tb->rela[0] = (const ElfW(Rela) *)jmprel;
		tb->nrela[0] = pltrelsz / sizeof(ElfW(Rela));
	}
	if (rela) {
		tb->rela[1] = (const ElfW(Rela) *)rela;
		tb->nrela[1] = relasz / sizeof(ElfW(Rela));
	}
	return 0;
}

/* --- writing slots -------------------------------------------------------- */

/* Held while an object's RELRO pages are writable: no writer makes them
 * read-only under another's writes. */
static _Atomic int slots_held;

static void slots_lock(void)
{
	int expect = 0;
	while (!atomic_compare_exchange_weak(&slots_held, &expect, 1)) {
		expect = 0;
		sched_yield();
	}
}

static void slots_unlock(void)
{
	atomic_store(&slots_held, 0);
}

void hc_slots_postfork_child(void)
{
	atomic_store(&slots_held, 0); /* held by a thread the child has not */
}

int hc_slots_write(const struct hc_elfobj *o, int *opened, uintptr_t slot, uintptr_t v)
{
	if (!*opened && slot >= o->relro_lo && slot < o->relro_hi) {
		slots_lock();
		if (mprotect((void *)o->relro_lo, o->relro_hi - o->relro_lo, PROT_READ | PROT_WRITE)) {
			slots_unlock();
			return -1;
		}
		*opened = 1;
	}
	__atomic_store_n((uintptr_t *)slot, v, __ATOMIC_RELAXED);
	return 0;
}

void hc_slots_close(const struct hc_elfobj *o, int opened)
{
	if (opened) {
		mprotect((void *)o->relro_lo, o->relro_hi - o->relro_lo, PROT_READ);
		slots_unlock();
	}
}
