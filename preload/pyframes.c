/* Python frames: when the traced process runs CPython 3.10-3.13, each
 * allocation made by a thread that runs Python carries that thread's Python
 * frames (a code-object id and an instruction index per frame), and each
 * code object's names and line table are copied into the trace once.
 *
 * Two halves. Detection (the collector, at each module scan until found):
 * the interpreter's symbols are read from its ELF file, its version picks a
 * row of the generated layout table (pyoffsets.h), and the row is checked
 * against what the running interpreter says of itself before the walker is
 * switched on; any doubt leaves it off with a NOTE. The walk (the hot path,
 * any thread): plain loads from this thread's own state and frames only,
 * never a call into the interpreter, never another thread's frames (they
 * change under us: a walker that did so crashed), never after the
 * interpreter began to finalize (other threads' states are freed then).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "mem.h"

#include "pyoffsets.h"

/* The detected interpreter; published once with release, read with
 * acquire (hc_py_on is the hot path's relaxed test). */
static struct {
	const struct hc_pyoffsets *o;
	uintptr_t runtime, code_type, str_type, bytes_type;
	uintptr_t eval_lo, eval_hi;
	unsigned version_hex; /* PY_VERSION_HEX, 0 when only the minor is known */
	char path[256];
} py;
/* The CPython found (PY_VERSION_HEX, or its minor << 16), its frames
 * walked or not: the collector pauses across its forks. */
static unsigned interpreter;
_Atomic int hc_py_on;
static _Atomic int py_stopped;  /* the interpreter finalizes: never again */
_Atomic uint64_t hc_py_unknown_code; /* frames whose code got no id (table full) */

/* --- code ids ------------------------------------------------------------ */

/* Code object address → id, shared by all threads, lock-free. A slot's key
 * is set once (0 → address) and never changes; its value (look_hash << 32
 * | id) is replaced whole when another code object reuses the address, so a
 * reader that sees a value sees one that belongs to this key. */
#define CODE_BITS 17
#define CODE_PROBES 64
struct code_slot {
	_Atomic uint64_t key, val;
};
static _Atomic(struct code_slot *) code_table;
static _Atomic uint32_t next_code_id = 1;

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static inline uint64_t load(uintptr_t a)
{
	return *(const volatile uint64_t *)a;
}
static inline uint32_t load32(uintptr_t a)
{
	return *(const volatile uint32_t *)a;
}

/* What tells two code objects at one address apart: the addresses of its
 * line table, qualified name and file, and its first line (all fixed for a
 * code object's life). Its address and table's alone are not enough: a
 * loop that compiles code frees a code object with its table every round,
 * and the next round's take both addresses back (a trace gave round 25's
 * module to round 26's function that way). Plain loads from the code object
 * and compares: the walk does this for every frame of every allocation
 * (these add 25 ns to an allocation 20 frames deep; reading the name's
 * characters too added 75). */
static inline void code_look(const struct hc_pyoffsets *o, uintptr_t code,
			     struct hc_pycode_look *k)
{
	k->table = load(code + o->co_linetable);
	k->qual = load(code + (o->co_qualname != 0xffff ? o->co_qualname : o->co_name));
	k->file = load(code + o->co_filename);
	k->line = load32(code + o->co_firstlineno);
}

static inline int same_look(const struct hc_pycode_look *a, const struct hc_pycode_look *b)
{
	return !((a->table ^ b->table) | (a->qual ^ b->qual) | (a->file ^ b->file) |
		 (uint64_t)(a->line ^ b->line));
}

/* The shared table's word for a look: a 32-bit hash, never 0. */
static uint32_t look_hash(const struct hc_pycode_look *k)
{
	uint64_t h = mix(k->table ^ mix(k->qual ^ mix(k->file ^ mix(k->line))));
	return (uint32_t)(h ^ h >> 32) | 1;
}

/* A str object's characters, raw: *kind is 1 (ASCII or Latin-1), 2 or 4
 * bytes a character. 0 when it is not a compact str of sane length. */
static size_t str_bytes(uintptr_t s, const uint8_t **data, unsigned *kind)
{
	const struct hc_pyoffsets *o = py.o;
	if (!s || (s & 7) || load(s + o->ob_type) != py.str_type)
		return 0;
	uint32_t state = load32(s + o->str_state);
	uint64_t len = load(s + o->str_length);
	if (!(state & o->str_compact_mask) || len > 4096)
		return 0;
	if (state & o->str_ascii_mask) {
		*kind = 1;
		*data = (const uint8_t *)(s + o->str_ascii_data);
	} else {
		unsigned k = (state & o->str_kind_mask) / (o->str_kind_mask & -o->str_kind_mask);
		if (k != 1 && k != 2 && k != 4)
			return 0;
		*kind = k;
		*data = (const uint8_t *)(s + o->str_compact_data);
	}
	return (size_t)len * *kind;
}

/* Sends a code object's names and line table through the thread's ring.
 * Called by the allocating thread while a frame of its own holds the code
 * object alive: the collector never reads interpreter memory. */
static int send_code(struct hc_ring *r, uintptr_t code, uint32_t id)
{
	const struct hc_pyoffsets *o = py.o;
	const uint8_t *qn = NULL, *fn = NULL, *lt = NULL;
	unsigned qk = 1, fk = 1;
	uintptr_t qual = load(code + (o->co_qualname != 0xffff ? o->co_qualname : o->co_name));
	size_t qlen = str_bytes(qual, &qn, &qk);
	size_t flen = str_bytes(load(code + o->co_filename), &fn, &fk);
	uintptr_t table = load(code + o->co_linetable);
	size_t tlen = 0;
	int cut = 0;
	if (table && !(table & 7) && load(table + o->ob_type) == py.bytes_type) {
		uint64_t n = load(table + o->var_size);
		tlen = n > HC_PY_MAX_TABLE ? HC_PY_MAX_TABLE : (size_t)n;
		cut = n > HC_PY_MAX_TABLE;
		lt = (const uint8_t *)(table + o->bytes_data);
	}
	size_t bytes = qlen + flen + tlen;
	unsigned words = 5 + (unsigned)((bytes + 7) / 8);
	uint64_t *e = hc_ring_reserve(r, words);
	if (!e)
		return -1;
	e[0] = HC_EV_HDR(HC_EV_CODE, words, 0);
	e[1] = id;
	e[2] = (uint32_t)(int32_t)load32(code + o->co_firstlineno) | (uint64_t)cut << 32 |
	       (uint64_t)qk << 40 | (uint64_t)fk << 48;
	e[3] = qlen;
	e[4] = flen | (uint64_t)tlen << 32;
	e[words - 1] = 0; /* the padding */
	uint8_t *d = (uint8_t *)(e + 5);
	memcpy(d, qn, qlen);
	memcpy(d + qlen, fn, flen);
	memcpy(d + qlen + flen, lt, tlen);
	hc_ring_commit(r, words);
	return 0;
}

/* The id of a code object, sending its CODE event the first time (and
 * again when its address was reused); 0 when the table is full. */
static uint32_t code_id(struct hc_ring *r, uintptr_t code, const struct hc_pycode_look *look)
{
	struct code_slot *t = atomic_load_explicit(&code_table, memory_order_acquire);
	if (unlikely(!t))
		return 0;
	uint32_t fp = look_hash(look);
	size_t mask = (1u << CODE_BITS) - 1, i = mix(code) & mask;
	for (int probe = 0; probe < CODE_PROBES; probe++, i = (i + 1) & mask) {
		uint64_t k = atomic_load_explicit(&t[i].key, memory_order_acquire);
		if (k == 0) {
			uint64_t zero = 0;
			if (!atomic_compare_exchange_strong(&t[i].key, &zero, code) && zero != code)
				continue; /* another code object took it */
		} else if (k != code) {
			continue;
		} else {
			uint64_t v = atomic_load_explicit(&t[i].val, memory_order_acquire);
			if (v && (uint32_t)(v >> 32) == fp)
				return (uint32_t)v;
		}
		/* New here, or the address now holds another code object. Two
		 * threads may both send one: two ids, both in the trace. */
		uint32_t id = atomic_fetch_add_explicit(&next_code_id, 1, memory_order_relaxed);
		if (id >= HC_PY_MAX_CODES || send_code(r, code, id))
			return 0;
		atomic_store_explicit(&t[i].val, (uint64_t)fp << 32 | id, memory_order_release);
		return id;
	}
	return 0;
}

/* --- the walk ------------------------------------------------------------ */

/* This thread's own PyThreadState, or 0: the one the interpreter keeps in
 * its thread-specific slot for this thread (what
 * PyGILState_GetThisThreadState returns), read without calling it. A
 * thread that never ran Python has none. */
static inline uintptr_t my_tstate(const struct hc_pyoffsets *o)
{
	uintptr_t tss = py.runtime + o->rt_autotss;
	if (!load32(tss + o->tss_initialized))
		return 0;
	uintptr_t ts = (uintptr_t)pthread_getspecific((pthread_key_t)load32(tss + o->tss_key));
	/* a key deleted and taken again by someone else holds their pointer */
	if (!ts || (ts & 7) || load(ts + o->ts_thread_id) != (uint64_t)pthread_self())
		return 0;
	return ts;
}

int hc_py_walk(struct hc_ring *r, uint64_t *out, int max)
{
	const struct hc_pyoffsets *o = py.o;
	if (load(py.runtime + o->rt_finalizing)) {
		atomic_store_explicit(&py_stopped, 1, memory_order_relaxed);
		atomic_store_explicit(&hc_py_on, 0, memory_order_relaxed);
		return 0;
	}
	uintptr_t ts = my_tstate(o);
	if (!ts)
		return 0;
	uintptr_t f = load(ts + o->ts_frame);
	if (o->cf_current != 0xffff && f)
		f = (f & 7) ? 0 : load(f + o->cf_current);
	int n = 0;
	for (int steps = 0; f && !(f & 7) && n < max && steps < 4 * HC_PY_MAX_FRAMES; steps++) {
		uintptr_t prev = load(f + o->fr_previous);
		if (prev == f)
			break;
		unsigned owner = o->fr_owner != 0xffff ? *(const volatile uint8_t *)(f + o->fr_owner)
						       : 0;
		if (owner == o->owned_by_cstack) { /* 3.12+: an eval loop's entry shim */
			f = prev;
			continue;
		}
		uintptr_t code = load(f + o->fr_code);
		if (!code || (code & 7)) {
			f = prev;
			continue;
		}
		/* A code object this thread met: its id and first traceable
		 * instruction without the type check or the shared table. */
		struct hc_pycode_seen *seen = &r->pycode[(code >> 4) & ((1u << HC_PYCODE_BITS) - 1)];
		struct hc_pycode_look look;
		code_look(o, code, &look);
		if (unlikely(seen->code != code || !same_look(&seen->look, &look))) {
			if (load(code + o->ob_type) != py.code_type) {
				f = prev; /* 3.13: a frame running no code object */
				continue;
			}
			seen->code = 0;
			seen->id = code_id(r, code, &look);
			seen->first = o->co_firsttraceable != 0xffff
					      ? (int32_t)load32(code + o->co_firsttraceable)
					      : 0;
			seen->look = look;
			seen->code = seen->id ? code : 0; /* no id: asked again next time */
			if (!seen->id)
				atomic_fetch_add_explicit(&hc_py_unknown_code, 1, memory_order_relaxed);
		}
		int64_t idx;
		if (o->co_code == 0xffff) { /* 3.10: f_lasti */
			idx = (int32_t)load32(f + o->fr_instr);
		} else {
			idx = ((int64_t)load(f + o->fr_instr) - (int64_t)(code + o->co_code)) / 2;
		}
		int entry;
		if (o->fr_is_entry != 0xffff) /* 3.11 */
			entry = *(const volatile uint8_t *)(f + o->fr_is_entry) != 0;
		else if (o->owned_by_cstack != 0xff) /* 3.12+: called from a shim */
			entry = !prev || (!(prev & 7) && *(const volatile uint8_t *)(prev + o->fr_owner) ==
							     o->owned_by_cstack);
		else /* 3.10: each frame has its own eval loop */
			entry = 1;
		/* no id (the table full, no room to copy it): counted, and
		 * shown as unknown code, not as a frame that never started */
		uint32_t id = seen->id ? seen->id : HC_PY_UNKNOWN_CODE;
		if (o->co_firsttraceable != 0xffff && owner != o->owned_by_generator &&
		    idx < seen->first) {
			/* Not yet started (before its RESUME): not a frame the
			 * program sees. An entry one still owns its eval loop's
			 * native frame; a marker keeps the merge in step. */
			if (!entry) {
				f = prev;
				continue;
			}
			id = 0;
			idx = -1;
		}
		if (idx < -1 || idx >= 0x7fffffff)
			idx = -1;
		out[n++] = HC_PY_FRAME | (uint64_t)entry << 62 | (uint64_t)id << 32 |
			   (uint32_t)(idx + 1);
		f = prev;
	}
	return n;
}

/* --- detection ----------------------------------------------------------- */

/* An ELF file's dynamic symbols, looked up through its GNU hash table with
 * a few preads each (no mapping, no malloc: the collector may not). */
struct elf_syms {
	int fd;
	uint64_t sym_off, str_off, str_size, hash_off;
	uint32_t nbuckets, symoffset, bloom_size, bloom_shift;
	uint64_t base; /* load bias in this process */
};

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static int elf_open(struct elf_syms *s, const char *path, uint64_t map_start, uint64_t map_off)
{
	memset(s, 0, sizeof(*s));
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return -1;
	Elf64_Ehdr eh;
	if (pread_all(s->fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum > 4096 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		goto fail;
	/* The load bias, from the executable mapping's segment. The headers
	 * are read a table (or 64 of them) at a time: one read a header cost
	 * 40 to 60 system calls a module, and every module of a program is
	 * looked at once. */
	Elf64_Phdr phs[256];
	if (pread_all(s->fd, phs, eh.e_phnum * sizeof(phs[0]), eh.e_phoff))
		goto fail;
	int found = 0;
	for (unsigned i = 0; i < eh.e_phnum && !found; i++) {
		const Elf64_Phdr *ph = &phs[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) &&
		    map_off >= (ph->p_offset & ~4095ull) && map_off < ph->p_offset + ph->p_filesz) {
			s->base = map_start - ph->p_vaddr - (map_off - ph->p_offset);
			found = 1;
		}
	}
	if (!found)
		goto fail;
	uint64_t dynsym_link = 0;
	Elf64_Shdr shs[64];
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		if (i % 64 == 0) {
			unsigned n = eh.e_shnum - i < 64 ? eh.e_shnum - i : 64;
			if (pread_all(s->fd, shs, n * sizeof(shs[0]), eh.e_shoff + i * sizeof(shs[0])))
				goto fail;
		}
		const Elf64_Shdr *sh = &shs[i % 64];
		if (sh->sh_type == SHT_DYNSYM) {
			s->sym_off = sh->sh_offset;
			dynsym_link = sh->sh_link;
		} else if (sh->sh_type == SHT_GNU_HASH) {
			s->hash_off = sh->sh_offset;
		}
	}
	if (!s->sym_off || !s->hash_off || !dynsym_link || dynsym_link >= eh.e_shnum)
		goto fail;
	Elf64_Shdr str;
	if (pread_all(s->fd, &str, sizeof(str), eh.e_shoff + dynsym_link * sizeof(str)))
		goto fail;
	s->str_off = str.sh_offset;
	s->str_size = str.sh_size;
	uint32_t hdr[4];
	if (pread_all(s->fd, hdr, sizeof(hdr), s->hash_off) || !hdr[0] || hdr[0] > (1u << 24))
		goto fail;
	s->nbuckets = hdr[0];
	s->symoffset = hdr[1];
	s->bloom_size = hdr[2];
	s->bloom_shift = hdr[3];
	return 0;
fail:
	close(s->fd);
	s->fd = -1;
	return -1;
}

/* A defined dynamic symbol's address in this process and size; 0 if absent. */
static uint64_t elf_sym(const struct elf_syms *s, const char *name, uint64_t *size)
{
	uint32_t h = 5381;
	for (const char *p = name; *p; p++)
		h = h * 33 + (uint8_t)*p;
	uint64_t bloom, base = s->hash_off + 16;
	uint64_t word = (h / 64) % (s->bloom_size ? s->bloom_size : 1);
	if (pread_all(s->fd, &bloom, 8, base + word * 8) ||
	    !((bloom >> (h % 64)) & (bloom >> ((h >> s->bloom_shift) % 64)) & 1))
		return 0;
	uint64_t buckets = base + (uint64_t)s->bloom_size * 8;
	uint64_t chains = buckets + (uint64_t)s->nbuckets * 4;
	uint32_t i;
	if (pread_all(s->fd, &i, 4, buckets + (h % s->nbuckets) * 4) || i < s->symoffset)
		return 0;
	size_t len = strlen(name);
	for (int guard = 0; guard < 1 << 16; guard++, i++) {
		uint32_t ch;
		if (pread_all(s->fd, &ch, 4, chains + (uint64_t)(i - s->symoffset) * 4))
			return 0;
		if ((ch | 1) == (h | 1)) {
			Elf64_Sym sym;
			char buf[64];
			if (!pread_all(s->fd, &sym, sizeof(sym), s->sym_off + (uint64_t)i * sizeof(sym)) &&
			    sym.st_name + len + 1 <= s->str_size && len + 1 <= sizeof(buf) &&
			    !pread_all(s->fd, buf, len + 1, s->str_off + sym.st_name) &&
			    !memcmp(buf, name, len + 1) && sym.st_shndx != SHN_UNDEF && sym.st_value) {
				if (size)
					*size = sym.st_size;
				return s->base + sym.st_value;
			}
		}
		if (ch & 1)
			return 0;
	}
	return 0;
}

/* Whether PyCode_Type's member list places name at off (the table says). */
static int member_at(uintptr_t code_type, const struct hc_pyoffsets *o, const char *name,
		     unsigned off)
{
	uintptr_t m = load(code_type + o->tp_members);
	for (int i = 0; m && i < 64; i++, m += o->md_size) {
		const char *n = (const char *)load(m);
		if (!n)
			break;
		if (!strncmp(n, name, 32))
			return (unsigned)load(m + o->md_offset) == off;
	}
	return 0;
}

/* On 3.13: the interpreter's own _Py_DebugOffsets (the first field of
 * _PyRuntime) must say what the table says. */
static const char *check_debug_offsets(const struct hc_pyoffsets *o, uintptr_t rt)
{
	if (!o->dbg_size)
		return NULL;
	if (memcmp((const void *)rt, "xdebugpy", 8))
		return "its _Py_DebugOffsets cookie is not 'xdebugpy'";
	uint64_t v = load(rt + o->dbg_version);
	if ((v >> 16) != o->version)
		return "its _Py_DebugOffsets version differs";
	if (load(rt + o->dbg_free_threaded))
		return "it is a free-threaded build";
	const struct {
		uint16_t dbg, ours;
	} f[] = {
		{o->dbg_finalizing, o->rt_finalizing}, {o->dbg_ts_frame, o->ts_frame},
		{o->dbg_ts_thread_id, o->ts_thread_id}, {o->dbg_fr_previous, o->fr_previous},
		{o->dbg_fr_code, o->fr_code},         {o->dbg_fr_instr, o->fr_instr},
		{o->dbg_fr_owner, o->fr_owner},       {o->dbg_co_filename, o->co_filename},
		{o->dbg_co_name, o->co_name},         {o->dbg_co_qualname, o->co_qualname},
		{o->dbg_co_linetable, o->co_linetable}, {o->dbg_co_firstlineno, o->co_firstlineno},
		{o->dbg_co_code, o->co_code},
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (load(rt + f[i].dbg) != f[i].ours)
			return "a _Py_DebugOffsets field differs from the table";
	return NULL;
}

/* Paths looked at and found not to be an interpreter (by hash), so that a
 * rescan does not open them again. */
static uint64_t seen[256];
static unsigned nseen;

int hc_py_consider(const char *path, uint64_t map_start, uint64_t map_off, char *msg, size_t cap)
{
	if (atomic_load(&hc_py_on) || atomic_load(&py_stopped) || py.o || !hc_config.python)
		return 0;
	uint64_t ph = 1469598103934665603ull;
	for (const char *p = path; *p; p++)
		ph = (ph ^ (uint8_t)*p) * 1099511628211ull;
	for (unsigned i = 0; i < nseen; i++)
		if (seen[i] == ph)
			return 0;
	if (nseen < sizeof(seen) / sizeof(seen[0]))
		seen[nseen++] = ph;
	struct elf_syms s;
	if (elf_open(&s, path, map_start, map_off))
		return 0;
	int rc = 0;
	uint64_t eval_size = 0;
	uintptr_t rt = elf_sym(&s, "_PyRuntime", NULL);
	if (!rt) { /* most modules: the other six lookups would be for nothing */
		close(s.fd);
		return 0;
	}
	uintptr_t eval = elf_sym(&s, "_PyEval_EvalFrameDefault", &eval_size);
	uintptr_t code_type = elf_sym(&s, "PyCode_Type", NULL);
	uintptr_t str_type = elf_sym(&s, "PyUnicode_Type", NULL);
	uintptr_t bytes_type = elf_sym(&s, "PyBytes_Type", NULL);
	uintptr_t version = elf_sym(&s, "Py_Version", NULL);
	uintptr_t iter_send = elf_sym(&s, "PyIter_Send", NULL);
	close(s.fd);
	if (!rt || !code_type)
		return 0; /* not an interpreter */
	rc = 1;
	unsigned minor_hex = 0, hex = 0;
	if (version) {
		hex = load32(version);
		minor_hex = hex >> 16;
	} else if (iter_send) {
		minor_hex = 0x30a; /* PyIter_Send came in 3.10, Py_Version in 3.11 */
	}
	interpreter = hex ? hex : minor_hex << 16;
	const struct hc_pyoffsets *o = NULL;
	for (size_t i = 0; i < sizeof(hc_pyoffsets_table) / sizeof(hc_pyoffsets_table[0]); i++)
		if (hc_pyoffsets_table[i].version == minor_hex)
			o = &hc_pyoffsets_table[i];
	const char *bad = NULL;
	if (!o)
		bad = "no frame layout is known for this version (3.10 to 3.13 are)";
	else if (!eval || !eval_size || !str_type || !bytes_type)
		bad = "interpreter symbols are missing";
	else if (load(code_type + o->tp_basicsize) != o->co_basicsize)
		bad = "the code object's size differs from the table";
	else if (!member_at(code_type, o, "co_filename", o->co_filename) ||
		 !member_at(code_type, o, "co_name", o->co_name) ||
		 !member_at(code_type, o, "co_firstlineno", o->co_firstlineno) ||
		 (o->co_qualname != 0xffff && !member_at(code_type, o, "co_qualname", o->co_qualname)))
		bad = "the code object's member offsets differ from the table";
	else
		bad = check_debug_offsets(o, rt);
	if (minor_hex)
		hc_fmt(msg, cap, "Python %u.%u", minor_hex >> 8, minor_hex & 0xff);
	else
		hc_fmt(msg, cap, "Python (before 3.10)");
	if (hex && (hex >> 16) == minor_hex)
		hc_fmt(msg, cap, "Python %u.%u.%u", hex >> 24, (hex >> 16) & 0xff, (hex >> 8) & 0xff);
	size_t k = strlen(msg);
	if (bad) {
		hc_fmt(msg + k, cap - k, " in %s: Python frames off (%s); "
			"native frames go on", path, bad);
		return -1;
	}
	struct code_slot *t = hc_map(sizeof(struct code_slot) << CODE_BITS);
	if (!t) {
		hc_fmt(msg + k, cap - k, " in %s: Python frames off (no memory for the code table)",
		       path);
		return -1;
	}
	atomic_store_explicit(&code_table, t, memory_order_release);
	py.o = o;
	py.runtime = rt;
	py.code_type = code_type;
	py.str_type = str_type;
	py.bytes_type = bytes_type;
	py.eval_lo = eval;
	py.eval_hi = eval + eval_size;
	py.version_hex = hex;
	size_t pl = strlen(path);
	if (pl >= sizeof(py.path))
		pl = sizeof(py.path) - 1;
	memcpy(py.path, path, pl);
	py.path[pl] = '\0';
	hc_fmt(msg + k, cap - k, " in %s: Python frames on", path);
	atomic_store_explicit(&hc_py_on, 1, memory_order_release);
	return rc;
}

void hc_py_info(struct hc_py_info *out)
{
	out->version = py.version_hex ? py.version_hex : (py.o ? (unsigned)py.o->version << 16 : 0);
	out->interpreter = interpreter;
	out->eval_lo = py.eval_lo;
	out->eval_hi = py.eval_hi;
	out->path = py.path;
}

void hc_py_postfork_child(void)
{
	/* The child writes its own trace: every code object is new to it. */
	struct code_slot *t = atomic_load(&code_table);
	if (t) { /* one thread now: a fresh table, not 2 MiB of pages touched */
		struct code_slot *n = hc_map(sizeof(struct code_slot) << CODE_BITS);
		atomic_store(&code_table, n);
		hc_unmap(t, sizeof(struct code_slot) << CODE_BITS);
		if (!n)
			atomic_store(&hc_py_on, 0);
	}
	atomic_store(&next_code_id, 1);
}
