/* Python frames in the analyzer: the trace's code objects (CODE records)
 * and interpreter (PYTHON record), and the merge of a stack's Python frames
 * into its native ones.
 *
 * Invariants callers rely on:
 *  - a merged stack holds native return addresses and Python display
 *    words (hc_pydisplay_*: a code id and a source line), never the raw
 *    frame words of the trace: two instructions of one line are one frame;
 *  - code objects with the same names, first line and line table share one
 *    id (the first), so a function compiled again, or the same function
 *    seen in two processes, is one frame;
 *  - every string handed out lives until hc_pycodes_release().
 */
#ifndef HC_PYCODE_H
#define HC_PYCODE_H

#include <stddef.h>
#include <stdint.h>

#include "reader.h"

struct hc_pycode {
	char *qualname, *filename; /* NUL-terminated, UTF-8 */
	int64_t firstlineno;
	uint32_t flags;            /* HC_CODE_* */
	uint8_t *table;
	size_t tlen;
	uint32_t canon;            /* the first id with the same content; 0: no such code */
};

struct hc_pycodes {
	unsigned version;          /* PY_VERSION_HEX from the PYTHON record; 0: none */
	uint64_t eval_lo, eval_hi;
	char *path;                /* the interpreter's file */
	char *pymalloc;            /* PYTHONMALLOC as the process started ("": unset) */
	struct hc_pycode *codes;   /* index: id */
	size_t ncodes, cap;
	uint64_t records;          /* CODE records taken */
	uint64_t *index;           /* content hash << 32 | id, open addressing */
	size_t icap, nindexed;
	/* lines decoded so far: (id << 32 | index + 1) -> line, open
	 * addressing (a stack's frames repeat across stacks) */
	uint64_t *memo_key;
	uint32_t *memo_line;
	size_t mcap, nmemo;
	/* stacks seen with Python frames, and those whose native and Python
	 * frames could not be interleaved (shown native, then Python) */
	uint64_t stacks, fallbacks;
};

/* A Python frame in a merged stack: the trace's frame bit, the code id in
 * bits 32-61, the line in bits 0-31 (0: unknown). */
static inline uint64_t hc_pydisplay(uint32_t code, uint32_t line)
{
	return 1ull << 63 | (uint64_t)code << 32 | line;
}
static inline int hc_pydisplay_is(uint64_t w)
{
	return (int)(w >> 63);
}
static inline uint32_t hc_pydisplay_code(uint64_t w)
{
	return (uint32_t)((w >> 32) & 0x3fffffff);
}
static inline uint32_t hc_pydisplay_line(uint64_t w)
{
	return (uint32_t)w;
}

/* "3.12.1", from a PY_VERSION_HEX. */
void hc_pyversion(char *buf, size_t cap, unsigned version);
/* Whether every object went through malloc (PYTHONMALLOC malloc or
 * malloc_debug): pymalloc hid no small object. */
int hc_pycodes_every_object(const struct hc_pycodes *p);

void hc_pycodes_init(struct hc_pycodes *p);
void hc_pycodes_release(struct hc_pycodes *p);
/* Takes a CODE or a PYTHON record (others are ignored). Returns 0,
 * -EBADMSG for a malformed one, -ENOMEM. */
int hc_pycodes_add(struct hc_pycodes *p, const struct hc_rec *rec);
/* The code object of a display word's id, or NULL. */
const struct hc_pycode *hc_pycodes_get(const struct hc_pycodes *p, uint32_t id);

/* Merges one STACK's words (native addresses innermost first, then the
 * Python frame words innermost first) into out (room for n): each native
 * frame of the eval loop gives way to the Python frames it ran (up to the
 * next entry frame). When the counts disagree, the native frames then the
 * Python ones, and it is counted as a fallback; natives_cut says the
 * native walk stopped at its depth limit, so Python frames left over are
 * simply the outer ones. *lead: the native frames before the first Python
 * one in out (0 without Python frames or after a fallback). Returns the
 * number of words in out. */
size_t hc_pycodes_merge(struct hc_pycodes *p, const uint64_t *in, size_t n, int natives_cut,
			uint64_t *out, size_t *lead);

#endif
