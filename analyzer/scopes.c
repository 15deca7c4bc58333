/* The function scopes of a unit by address (see scopes.h). Scope ranges
 * nest: the innermost range that holds pc is the one, among those holding
 * it, that starts last (ties: the shorter, which sorts after). */
#include "scopes.h"

#include <dwarf.h>
#include <stdint.h>
#include <stdlib.h>

#include "grow.h"

struct scope {
	Dwarf_Die die;
	int32_t parent; /* index of the enclosing scope, -1: none */
};

struct range {
	Dwarf_Addr lo, hi;
	int32_t scope;
};

struct hc_scopes {
	struct scope *scopes;
	size_t nscopes, cap_scopes;
	struct range *ranges;
	size_t nranges, cap_ranges;
	int failed;
};


static void walk(struct hc_scopes *s, Dwarf_Die *die, int32_t parent, int depth)
{
	Dwarf_Die child;
	if (depth > 256 || dwarf_child(die, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		int32_t inner = parent;
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
		    tag == DW_TAG_entry_point) {
			Dwarf_Addr base, lo, hi;
			for (ptrdiff_t off = 0; (off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0;) {
				if (lo >= hi)
					continue;
				if (inner == parent) {
					if (hc_grow((void **)&s->scopes, &s->cap_scopes, sizeof(*s->scopes),
						 s->nscopes + 1)) {
						s->failed = 1;
						return;
					}
					s->scopes[s->nscopes] = (struct scope){child, parent};
					inner = (int32_t)s->nscopes++;
				}
				if (hc_grow((void **)&s->ranges, &s->cap_ranges, sizeof(*s->ranges),
					 s->nranges + 1)) {
					s->failed = 1;
					return;
				}
				s->ranges[s->nranges++] = (struct range){lo, hi, inner};
			}
		}
		walk(s, &child, inner, depth + 1);
		if (s->failed)
			return;
	} while (dwarf_siblingof(&child, &child) == 0);
}

static int by_lo(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi > y->hi ? -1 : 1; /* the longer, enclosing, first */
	return x->scope < y->scope ? -1 : x->scope > y->scope; /* the outer first */
}

struct hc_scopes *hc_scopes_build(Dwarf_Die *cu)
{
	struct hc_scopes *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	walk(s, cu, -1, 0);
	if (s->failed) {
		hc_scopes_free(s);
		return NULL;
	}
	qsort(s->ranges, s->nranges, sizeof(*s->ranges), by_lo);
	return s;
}

void hc_scopes_free(struct hc_scopes *s)
{
	if (!s)
		return;
	free(s->scopes);
	free(s->ranges);
	free(s);
}

int hc_scopes_at(const struct hc_scopes *s, Dwarf_Addr pc, Dwarf_Die *out, int max)
{
	size_t a = 0, b = s->nranges; /* the first range starting after pc */
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (s->ranges[mid].lo <= pc)
			a = mid + 1;
		else
			b = mid;
	}
	int32_t found = -1;
	for (size_t i = a; i-- > 0;)
		if (s->ranges[i].hi > pc) {
			found = s->ranges[i].scope;
			break;
		}
	int n = 0;
	for (int32_t k = found; k >= 0 && n < max; k = s->scopes[k].parent)
		out[n++] = s->scopes[k].die;
	return n;
}
