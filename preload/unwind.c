/* Stack capture for allocation sites, the dominant cost of the shim.
 *
 * The fast path walks the stack with the DWARF call-frame information the
 * compiler emits for every function (.eh_frame, found through each module's
 * .eh_frame_hdr search table): for each return address, the rule giving the
 * caller's frame (CFA = RSP or RBP + offset, return address at CFA - 8, RBP
 * saved at CFA + k) is computed once and cached per thread, so a walk costs
 * a few loads per frame. Frames whose rules are anything else (an
 * expression, another register, a signal frame) make the whole walk fall
 * back to libunwind's unw_backtrace (about 12 ns a frame here; an unw_step
 * loop costs 6 µs because it calls sigprocmask per frame, so it is never
 * used). Frame pointers cannot be trusted: production builds omit them.
 * A walk starts at the hook's caller (HC_CALLER: the hooks keep a frame
 * pointer of their own), so the shim's own frames are never walked.
 *
 * Memory is only read at addresses the rules derive from the live stack,
 * inside the thread's stack bounds; rule lookups take no lock (but
 * dl_iterate_phdr's, for code the loader's lock-free table does not hold),
 * and only for a return address this thread has not met before.
 */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <elf.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"

_Atomic uint32_t hc_code_epoch;
_Atomic uint64_t hc_unwind_fallbacks;
_Atomic uint64_t hc_stacks_cut;

/* --- reading DWARF encodings ------------------------------------------------ */

struct cursor {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t uleb(struct cursor *c)
{
	uint64_t v = 0;
	for (unsigned shift = 0; c->p < c->end && shift < 64; shift += 7) {
		uint8_t b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = 1;
	return 0;
}

static int64_t sleb(struct cursor *c)
{
	int64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0;
	do {
		if (c->p >= c->end || shift >= 64) {
			c->bad = 1;
			return 0;
		}
		b = *c->p++;
		v |= (int64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

static uint64_t fixed(struct cursor *c, unsigned n)
{
	if ((size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return 0;
	}
	uint64_t v = 0;
	memcpy(&v, c->p, n);
	c->p += n;
	return v;
}

/* A pointer in DW_EH_PE encoding; datarel is relative to data_base. */
static uint64_t encoded(struct cursor *c, uint8_t enc, uint64_t data_base)
{
	if (enc == 0xff) /* omit */
		return 0;
	uint64_t pos = (uint64_t)(uintptr_t)c->p, v;
	switch (enc & 0x0f) {
	case 0x00: v = fixed(c, 8); break;
	case 0x01: v = uleb(c); break;
	case 0x02: v = fixed(c, 2); break;
	case 0x03: v = fixed(c, 4); break;
	case 0x04: v = fixed(c, 8); break;
	case 0x09: v = (uint64_t)sleb(c); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)fixed(c, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)fixed(c, 4); break;
	case 0x0c: v = fixed(c, 8); break;
	default: c->bad = 1; return 0;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += pos; break;       /* pcrel */
	case 0x30: v += data_base; break; /* datarel */
	default: c->bad = 1; return 0;
	}
	if (enc & 0x80) /* indirect */
		c->bad = 1;
	return v;
}

/* --- finding a function's FDE -------------------------------------------------- */

struct find {
	uint64_t pc;
	const uint8_t *hdr;   /* .eh_frame_hdr of the module holding pc */
};

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct find *f = arg;
	const ElfW(Phdr) *eh = NULL;
	int inside = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t start = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && f->pc >= start && f->pc < start + ph->p_memsz)
			inside = 1;
		else if (ph->p_type == PT_GNU_EH_FRAME)
			eh = ph;
	}
	if (!inside)
		return 0;
	f->hdr = eh ? (const uint8_t *)(uintptr_t)(info->dlpi_addr + eh->p_vaddr) : NULL;
	return 1;
}

/* The module's .eh_frame_hdr: from _dl_find_object (glibc 2.35 and later),
 * which takes no lock, else (code it does not know of: JIT code, or an
 * object the loader is still relocating; or an older glibc) from
 * dl_iterate_phdr, past phdr.c's fork gate. */
static const uint8_t *find_hdr(uint64_t pc)
{
#if defined(DLFO_EH_SEGMENT_TYPE) && !defined(HC_NO_DL_FIND_OBJECT)
	struct dl_find_object o;
	if (_dl_find_object((void *)(uintptr_t)pc, &o) == 0)
		return o.dlfo_eh_frame;
#endif
	struct find f = {pc, NULL};
	return hc_phdr_iterate(find_module, &f, HC_PHDR_WAIT_ALLOC) > 0 ? f.hdr : NULL;
}

/* The FDE covering pc, through the module's sorted search table. */
static const uint8_t *find_fde(uint64_t pc)
{
	const uint8_t *h = find_hdr(pc);
	if (!h)
		return NULL;
	if (h[0] != 1 || h[3] != 0x3b) /* version 1, table datarel|sdata4 */
		return NULL;
	struct cursor c = {h + 4, h + 4 + 16, 0};
	encoded(&c, h[1], 0);                       /* eh_frame_ptr */
	uint64_t count = encoded(&c, h[2], (uint64_t)(uintptr_t)h);
	if (c.bad || !count)
		return NULL;
	const int32_t *table = (const int32_t *)(const void *)c.p;
	uint64_t base = (uint64_t)(uintptr_t)h;
	size_t lo = 0, hi = (size_t)count;
	while (hi - lo > 1) { /* last entry with initial location <= pc */
		size_t mid = (lo + hi) / 2;
		if (base + (uint64_t)(int64_t)table[2 * mid] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	if (base + (uint64_t)(int64_t)table[2 * lo] > pc)
		return NULL;
	return (const uint8_t *)(uintptr_t)(base + (uint64_t)(int64_t)table[2 * lo + 1]);
}

/* --- the CFA rule at an address ------------------------------------------------ */

enum { RULE_NONE, RULE_SP, RULE_BP, RULE_END, RULE_BAD };

struct state {
	int cfa_reg;          /* 7 RSP, 6 RBP, else unsupported */
	int64_t cfa_off;
	int bp_saved;         /* RBP saved at CFA + bp_off */
	int64_t bp_off;
	int ra_ok;            /* return address at CFA - 8 */
	int ra_undefined;
	int bad;
};

/* Runs call-frame instructions until the location passes pc. */
static void run_cfi(struct cursor *c, uint64_t loc, uint64_t pc, uint64_t code_align,
		    int64_t data_align, struct state *s, const struct state *initial)
{
	struct state stack[8];
	int depth = 0;
	while (c->p < c->end && !c->bad && !s->bad) {
		uint8_t op = *c->p++;
		uint8_t low = op & 0x3f;
		uint64_t reg, delta = 0;
		int64_t off;
		switch (op >> 6) {
		case 1: /* advance_loc */
			delta = low * code_align;
			goto advance;
		case 2: /* offset */
			off = (int64_t)uleb(c) * data_align;
			reg = low;
			goto save;
		case 3: /* restore */
			reg = low;
			goto restore;
		}
		switch (op) {
		case 0x00: break;                        /* nop */
		case 0x02: delta = fixed(c, 1) * code_align; goto advance;
		case 0x03: delta = fixed(c, 2) * code_align; goto advance;
		case 0x04: delta = fixed(c, 4) * code_align; goto advance;
		case 0x05: reg = uleb(c); off = (int64_t)uleb(c) * data_align; goto save;
		case 0x11: reg = uleb(c); off = sleb(c) * data_align; goto save;
		case 0x06: reg = uleb(c); goto restore;
		case 0x07: /* undefined */
			reg = uleb(c);
			if (reg == 16)
				s->ra_undefined = 1;
			else if (reg == 6)
				s->bp_saved = 0;
			break;
		case 0x08: /* same_value */
			reg = uleb(c);
			if (reg == 6)
				s->bp_saved = 0;
			else if (reg == 16)
				s->bad = 1;
			break;
		case 0x09: /* register */
			reg = uleb(c);
			uleb(c);
			if (reg == 6 || reg == 16)
				s->bad = 1;
			break;
		case 0x0a:
			if (depth == 8) {
				s->bad = 1;
				break;
			}
			stack[depth++] = *s;
			break;
		case 0x0b:
			if (depth == 0) {
				s->bad = 1;
				break;
			}
			{ /* restore_state keeps the CFA? No: DWARF restores the
			   * whole row, CFA included. */
				*s = stack[--depth];
			}
			break;
		case 0x0c: s->cfa_reg = (int)uleb(c); s->cfa_off = (int64_t)uleb(c); break;
		case 0x12: s->cfa_reg = (int)uleb(c); s->cfa_off = sleb(c) * data_align; break;
		case 0x0d: s->cfa_reg = (int)uleb(c); break;
		case 0x0e: s->cfa_off = (int64_t)uleb(c); break;
		case 0x13: s->cfa_off = sleb(c) * data_align; break;
		case 0x2e: uleb(c); break;               /* GNU_args_size */
		default: /* expressions, val_offset, set_loc, ...: not ours */
			s->bad = 1;
			break;
		}
		continue;
advance:
		loc += delta;
		if (loc > pc)
			return;
		continue;
save:
		if (reg == 6) {
			s->bp_saved = 1;
			s->bp_off = off;
		} else if (reg == 16) {
			s->ra_ok = off == -8;
			if (!s->ra_ok)
				s->bad = 1;
		}
		continue;
restore:
		if (reg == 6) {
			s->bp_saved = initial->bp_saved;
			s->bp_off = initial->bp_off;
		} else if (reg == 16) {
			s->ra_ok = initial->ra_ok;
		}
		continue;
	}
}

/* Computes the rule for the code at pc (a return address less one). */
static void compute_rule(uint64_t pc, struct hc_unwind_rule *r)
{
	r->kind = RULE_BAD;
	const uint8_t *fde = find_fde(pc);
	if (!fde)
		return;
	uint32_t len = *(const uint32_t *)(const void *)fde;
	if (len == 0 || len == 0xffffffffu)
		return;
	const uint8_t *fde_end = fde + 4 + len;
	uint32_t cie_ptr = *(const uint32_t *)(const void *)(fde + 4);
	if (!cie_ptr)
		return; /* a CIE, not an FDE */
	const uint8_t *cie = fde + 4 - cie_ptr;
	uint32_t cie_len = *(const uint32_t *)(const void *)cie;
	if (cie_len == 0 || cie_len == 0xffffffffu)
		return;
	struct cursor c = {cie + 8, cie + 4 + cie_len, 0};
	uint8_t version = (uint8_t)fixed(&c, 1);
	const char *aug = (const char *)c.p;
	size_t aug_len = strnlen(aug, (size_t)(c.end - c.p));
	c.p += aug_len + 1;
	uint64_t code_align = uleb(&c);
	int64_t data_align = sleb(&c);
	uint64_t ra_reg = version == 1 ? fixed(&c, 1) : uleb(&c);
	uint8_t fde_enc = 0;
	if (ra_reg != 16 || (version != 1 && version != 3))
		return;
	if (aug[0] == 'z') {
		uint64_t n = uleb(&c);
		struct cursor a = {c.p, c.p + n, 0};
		for (const char *q = aug + 1; *q && !a.bad; q++) {
			if (*q == 'R')
				fde_enc = (uint8_t)fixed(&a, 1);
			else if (*q == 'P') {
				uint8_t penc = (uint8_t)fixed(&a, 1);
				struct cursor pa = a;
				encoded(&pa, penc & 0x7f, 0); /* skip; indirect is fine here */
				a.p = pa.p;
			} else if (*q == 'L')
				fixed(&a, 1);
			else if (*q == 'S')
				return; /* a signal frame: libunwind knows those */
			else if (*q != 'B')
				return;
		}
		if (a.bad)
			return;
		c.p += n;
	} else if (aug[0]) {
		return;
	}
	if (c.bad)
		return;
	struct state initial = {.cfa_reg = -1};
	run_cfi(&c, 0, UINT64_MAX, code_align, data_align, &initial, &initial);
	if (initial.bad)
		return;

	struct cursor f = {fde + 8, fde_end, 0};
	uint64_t begin = encoded(&f, fde_enc, 0);
	uint64_t range = encoded(&f, fde_enc & 0x0f, 0);
	if (f.bad || pc < begin || pc >= begin + range)
		return;
	if (aug[0] == 'z')
		f.p += uleb(&f);
	struct state s = initial;
	run_cfi(&f, begin, pc, code_align, data_align, &s, &initial);
	if (s.bad || f.bad)
		return;
	if (s.ra_undefined) {
		r->kind = RULE_END;
		return;
	}
	if (!s.ra_ok || (s.cfa_reg != 7 && s.cfa_reg != 6) || s.cfa_off < 0 ||
	    s.cfa_off > (1 << 30) || s.bp_off > (1 << 20) || s.bp_off < -(1 << 20))
		return;
	r->kind = s.cfa_reg == 7 ? RULE_SP : RULE_BP;
	r->cfa_off = (int32_t)s.cfa_off;
	r->bp_off = s.bp_saved ? (int32_t)s.bp_off : 0;
}

/* --- the walk ------------------------------------------------------------------- */

/* The calling thread's stack bounds, for checking every load. */
static __thread uint64_t stack_lo, stack_hi __attribute__((tls_model("initial-exec")));

static void find_stack(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	/* Once per thread. pthread_getattr_np allocates (a cpuset; for the
	 * main thread, stdio reading /proc/self/maps): from the own heap. */
	sigset_t saved;
	hc_own_enter(&saved);
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
			stack_lo = (uint64_t)(uintptr_t)addr;
			stack_hi = stack_lo + size;
		}
		pthread_attr_destroy(&attr);
	}
	hc_own_leave(&saved);
	if (!stack_hi)
		stack_hi = 1; /* unknown: the fast path stays off */
}

static struct hc_unwind_rule *rule_for(struct hc_ring *r, uint64_t ip)
{
	uint64_t h = (ip * 0x9e3779b97f4a7c15ull) >> (64 - HC_RULE_BITS);
	struct hc_unwind_rule *e = &r->rules[h];
	if (likely(e->ip == ip))
		return e;
	e->ip = ip;
	e->kind = RULE_NONE;
	compute_rule(ip - 1, e);
	return e;
}

/* Stacks met before, checked instead of walked. A memo, found by the hook
 * caller's return address and stack pointer, lists every load the walk made
 * from there: where (offset from that stack pointer) and what it found. If
 * the return address is the memo's and every slot still holds the same
 * return address, the stack is the same one, exactly: with rules computed
 * from RSP only, each frame's position follows from the return addresses
 * before it (the stack pointer only picks the memo; a memo is right for
 * any). A walk that used RBP is never memoised. */
static struct hc_stack_memo *memo_slot(struct hc_ring *ring, uint64_t ip0, uint64_t sp0)
{
	uint64_t h = ((ip0 ^ (sp0 * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull) >> (64 - HC_MEMO_BITS);
	return &ring->memos[h];
}

/* Whether the memo m, for this return address, still describes the stack
 * at sp0: every slot compared, without a branch per slot (all of them lie
 * below sp0 + max_off, checked to be inside the stack). */
static inline int memo_holds(const struct hc_stack_memo *m, uint64_t sp0)
{
#define SLOT_DIFF(j) (*(const uint64_t *)(uintptr_t)(sp0 + m->off[j]) ^ m->frames[(j) + 1])
	uint64_t diff = 0;
	int j = 0;
	for (; j + 1 < m->nload; j += 2)
		diff |= SLOT_DIFF(j) | SLOT_DIFF(j + 1);
	if (j < m->nload)
		diff |= SLOT_DIFF(j);
#undef SLOT_DIFF
	return !diff &&
	       (!m->low_end || *(const uint64_t *)(uintptr_t)(sp0 + m->off[m->nload]) < 4096);
}

/* Walks from `from`: n frames into frames (max at most), their hash into
 * *hash, and where those frames are into *found: frames, or a memo's copy.
 * Returns -1 - k to fall back, k frames walked into frames before that. */
static inline __attribute__((always_inline)) int walk(struct hc_ring *ring,
						       const struct hc_frame *from, uint64_t *frames,
						       int max, uint64_t *hash, const uint64_t **found)
{
	uint64_t ip = from->ip, sp = from->sp, bp = from->bp;
	int n = 0;
	if (unlikely(stack_hi <= 1) || sp < stack_lo || sp >= stack_hi || ip < 4096)
		return -1;
	const uint64_t sp0 = sp;
	struct hc_stack_memo *m = memo_slot(ring, ip, sp0);
	if (m->frames[0] == ip && m->n <= max && sp0 + m->max_off + 8 <= stack_hi &&
	    memo_holds(m, sp0)) {
		*hash = m->hash;
		*found = m->frames;
		ring->memo_hits++;
		return m->n;
	}
	uint32_t off[HC_MEMO_FRAMES + 1];
	int nload = 0, used_bp = 0, low_end = 0;
	for (;;) {
		frames[n++] = ip;
		if (n == max)
			break; /* deep enough: no load past the last frame kept */
		struct hc_unwind_rule *r = rule_for(ring, ip);
		if (r->kind == RULE_END)
			break;
		if (r->kind != RULE_SP && r->kind != RULE_BP)
			return -1 - n;
		used_bp |= r->kind == RULE_BP;
		uint64_t cfa = (r->kind == RULE_SP ? sp : bp) + (uint64_t)(int64_t)r->cfa_off;
		if (cfa <= sp || cfa > stack_hi || cfa - sp > (64u << 20) || (cfa & 7))
			return -1 - n;
		uint64_t ra = *(const uint64_t *)(uintptr_t)(cfa - 8);
		if (nload <= HC_MEMO_FRAMES)
			off[nload] = (uint32_t)(cfa - 8 - sp0);
		nload++;
		if (r->bp_off) {
			uint64_t at = cfa + (uint64_t)(int64_t)r->bp_off;
			if (at < sp || at + 8 > stack_hi)
				return -1 - n;
			bp = *(const uint64_t *)(uintptr_t)at;
		}
		sp = cfa;
		ip = ra;
		if (ip < 4096) {
			low_end = 1;
			break; /* the outermost frame */
		}
	}
	*hash = hc_stack_hash(frames, n);
	*found = frames;
	/* Remember this stack, unless RBP was used or it is too deep. */
	if (!used_bp && n >= 2 && nload - low_end <= HC_MEMO_FRAMES &&
	    (uint64_t)off[nload - 1] < (1u << 30)) {
		m->n = n;
		m->hash = *hash;
		m->low_end = low_end;
		m->nload = nload - low_end;
		m->max_off = 0;
		for (int j = 0; j < nload; j++) {
			m->off[j] = off[j];
			if (off[j] > m->max_off)
				m->max_off = off[j];
		}
		memcpy(m->frames, frames, (size_t)n * sizeof(frames[0]));
	}
	return n;
}

int hc_unwind(struct hc_ring *ring, const struct hc_frame *from, uint64_t *frames, int max,
	      uint64_t *hash, const uint64_t **found)
{
	/* unw_backtrace fills void *[]; uint64_t has the same size and
	 * representation on the 64-bit targets we build for. */
	_Static_assert(sizeof(void *) == sizeof(uint64_t), "64-bit only");
#ifdef HC_MEASURE_NO_STACK
	/* For bench/parts.sh only: the caller's address alone, to measure what
	 * the stack costs. Not a valid tracer. Never set in a real build. */
	(void)ring;
	(void)max;
	frames[0] = from->ip;
	*hash = hc_stack_hash(frames, 1);
	*found = frames;
	return 1;
#endif
	int walked = 0;
	if (ring) {
		uint32_t epoch = atomic_load_explicit(&hc_code_epoch, memory_order_relaxed);
		if (unlikely(ring->rules_epoch != epoch)) {
			/* code was mapped or unmapped: rules and memos may be stale */
			memset(ring->rules, 0, sizeof(ring->rules));
			memset(ring->memos, 0, sizeof(ring->memos));
			ring->rules_epoch = epoch;
		}
		if (unlikely(!stack_hi))
			find_stack();
		ring->walks++;
		int n = walk(ring, from, frames, max, hash, found);
		if (n > 0)
			return n;
		atomic_fetch_add_explicit(&hc_unwind_fallbacks, 1, memory_order_relaxed);
		walked = -1 - n;
	}
	/* libunwind finds modules with dl_iterate_phdr: not while a fork is
	 * under way (phdr.c). Past the wait, the stack is what the walk found. */
	if (!hc_phdr_enter(HC_PHDR_WAIT_ALLOC)) {
		atomic_fetch_add_explicit(&hc_stacks_cut, 1, memory_order_relaxed);
		if (walked < 1) {
			frames[0] = from->ip;
			walked = 1;
		}
		*found = frames;
		*hash = hc_stack_hash(frames, walked);
		return walked;
	}
	/* libunwind starts here: the stack begins at the frame that returns
	 * to from->ip, a few shim frames up. */
	int n = unw_backtrace((void **)frames, max + HC_UNWIND_SLACK);
	hc_phdr_leave();
	int k = 0;
	while (k < n && k < HC_UNWIND_SLACK && frames[k] != from->ip)
		k++;
	if (k == n || k == HC_UNWIND_SLACK) {
		frames[0] = from->ip; /* not found: the caller alone, never a shim frame */
		n = 1;
		k = 0;
	}
	n -= k;
	if (n > max)
		n = max;
	*found = frames + k;
	*hash = hc_stack_hash(frames + k, n);
	return n;
}

uint64_t hc_stack_hash(const uint64_t *frames, int n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
	for (int i = 0; i < n; i++) {
		h = (h ^ frames[i]) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h ? h : 1; /* 0 marks an empty slot in the known-stack cache */
}
