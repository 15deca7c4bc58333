/* Source lines of CPython instructions, decoded offline from the raw
 * co_linetable bytes the shim copied: the PEP 626 table of 3.10, the
 * location table of 3.11 to 3.13.
 *
 * Invariants callers rely on:
 *  - the answer is the line CPython's own co_lines() gives for that
 *    instruction (tests/t0170-pylines.sh proves it on every code unit of
 *    thousands of code objects of each version), except that a line below 1
 *    (a module's first instruction is on line 0 from 3.11) comes back as 0;
 *  - 0 means "no line": the table gives none, the index lies past the
 *    table, or the version is unknown;
 *  - the table is never read outside table[0..len), whatever its bytes;
 *  - no state, no allocation: safe from any thread.
 */
#ifndef HC_PYLINES_H
#define HC_PYLINES_H

#include <stddef.h>
#include <stdint.h>

/* The source line of instruction `index` (in code units, i.e. 2-byte units;
 * -1 means "before the first instruction") of a code object of CPython
 * 3.`minor` (minor 10..13), from its raw co_linetable bytes.
 * Returns firstlineno for index -1 (as PyCode_Addr2Line does for a negative
 * address), the line otherwise, and 0 when the table gives no line for that
 * instruction (or the index lies past the table, or minor is unknown).
 * Never reads outside table[0..len). */
int hc_pylines_line(unsigned minor, int firstlineno, const uint8_t *table, size_t len,
		    int64_t index);

#endif
