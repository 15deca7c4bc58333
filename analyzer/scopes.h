/* An index of one compilation unit's function scopes by address: every
 * subprogram, entry point and inlined instance with code, built in one walk
 * of the unit's DIEs, so that each address costs a binary search instead of
 * a walk of the unit (dwarf_getscopes walks it for every address: 2.4 ms an
 * address in a large unit such as CPython's). */
#ifndef HC_SCOPES_H
#define HC_SCOPES_H

#include <elfutils/libdw.h>

struct hc_scopes;

/* NULL when out of memory. */
struct hc_scopes *hc_scopes_build(Dwarf_Die *cu);
void hc_scopes_free(struct hc_scopes *s);
/* The scopes that physically contain pc (a DWARF address of the unit),
 * innermost first: inlined instances out to the subprogram that holds
 * them (and any that hold it). Returns how many were written (at most
 * max), 0 when no scope holds pc. */
int hc_scopes_at(const struct hc_scopes *s, Dwarf_Addr pc, Dwarf_Die *out, int max);

#endif
