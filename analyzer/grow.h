/* Growable arrays: the one way the analyzer makes room in them. */
#ifndef HC_GROW_H
#define HC_GROW_H

#include <stddef.h>

/* Makes *p (of *cap elements of elem bytes) hold at least need, doubling
 * from 64; the new elements are zero. 0, or -ENOMEM with *p untouched. */
int hc_grow(void **p, size_t *cap, size_t elem, size_t need);

#endif
