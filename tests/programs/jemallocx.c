/* jemalloc's extended API, traced: mallocx (with alignment and zeroing),
 * rallocx, xallocx, sallocx, nallocx, dallocx, sdallocx. Linked against
 * libjemalloc; valgrind does not know these calls, so t0200-exact.sh checks
 * the figures against the requested sizes below. Prints nothing. */
#include <jemalloc/jemalloc.h>
#include <string.h>

void *kept[8];

int main(void)
{
	void *a = mallocx(100, 0);                      /* freed by dallocx */
	void *b = mallocx(256, MALLOCX_ALIGN(64) | MALLOCX_ZERO); /* kept */
	void *c = mallocx(40, 0);
	c = rallocx(c, 4000, 0);                        /* moved or not: 40 freed, 4000 kept */
	void *d = mallocx(1000, 0);
	size_t got = xallocx(d, 1000, 0, 0);            /* same size: recorded as 1000 */
	void *e = mallocx(3000, 0);                     /* freed by sdallocx */
	if (sallocx(a, 0) < 100 || nallocx(100, 0) < 100 || got < 1000)
		return 1;
	memset(b, 1, 256);
	dallocx(a, 0);
	sdallocx(e, 3000, 0);
	kept[0] = b;
	kept[1] = c;
	kept[2] = d;
	return 0;
}
