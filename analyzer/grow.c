/* Growable arrays (grow.h). */
#include "grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int hc_grow(void **p, size_t *cap, size_t elem, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	memset((char *)q + *cap * elem, 0, (n - *cap) * elem);
	*p = q;
	*cap = n;
	return 0;
}
