/* The symbolizer: turns a return address from a trace into function names,
 * file:line and inlined frames, from the trace's own SYMBOLS records first,
 * then from the module files on disk through elfutils (DWARF, separate debug
 * files found by build-id or debuglink, else .symtab/.dynsym).
 *
 * Invariants callers rely on:
 *  - the module map is the union of every MODULES record added; where two
 *    mappings overlap, the one added last wins (a library dlopen'ed late is
 *    known for stacks read before its MODULES record);
 *  - a module file whose build-id differs from the trace's is never used:
 *    such addresses resolve to nothing rather than to wrong names;
 *  - a missing, unreadable, truncated or non-ELF file resolves to nothing;
 *  - results are cached per address; every string handed out stays valid
 *    until hc_symbols_free();
 *  - not thread-safe: one struct hc_symbols per thread.
 */
#ifndef HC_SYMBOLS_H
#define HC_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "pycode.h"
#include "reader.h"

/* One frame of a resolved address. */
struct hc_sym_frame {
	const char *function; /* never NULL; C++ names demangled when possible */
	const char *file;     /* source path as the debug info has it, or NULL */
	unsigned line;        /* 0 when unknown */
	int python;           /* a Python function, file and line */
};

/* Where an address lies in the trace's module map. */
struct hc_sym_where {
	const char *module;   /* the mapping's path from the trace, or NULL */
	uint64_t offset;      /* offset of the address in that file */
};

/* Innermost-first frames per address are capped here (inlining deeper than
 * this is cut at the outer end). */
#define HC_SYM_MAX_FRAMES 64

struct hc_symbols;

struct hc_symbols *hc_symbols_new(void);
void hc_symbols_free(struct hc_symbols *s);

/* Adds the mappings of one MODULES record. Returns 0, -EBADMSG for a
 * malformed record (nothing added), or -ENOMEM. */
int hc_symbols_add_modules(struct hc_symbols *s, const struct hc_rec *modules_rec);
/* Loads one SYMBOLS record; a resolved entry beats one loaded earlier for
 * the same address, an unresolved one never replaces a resolved one.
 * Returns 0, -EBADMSG (nothing loaded) or -ENOMEM. */
int hc_symbols_add_stored(struct hc_symbols *s, const struct hc_rec *symbols_rec);

/* Fills up to max frames for the return address addr (innermost inlined
 * function first, the function it was inlined into last) and, when where is
 * not NULL, its module and file offset. Returns the number of frames filled:
 * 0 when nothing is known. The function and line are those of addr - 1, the
 * call instruction. */
int hc_symbols_resolve(struct hc_symbols *s, uint64_t addr, struct hc_sym_frame *out, int max,
		       struct hc_sym_where *where);

/* Python frames of merged stacks (pycode.h, display words) resolve from
 * py, which must outlive their use. */
void hc_symbols_set_python(struct hc_symbols *s, const struct hc_pycodes *py);

/* 1 when addr has resolved frames from a SYMBOLS record, -1 when it has only
 * an unresolved entry there, 0 when no record mentions it. */
int hc_symbols_stored(struct hc_symbols *s, uint64_t addr);

#endif
