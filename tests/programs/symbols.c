/* Allocation sites with known names and lines for the symbolization tests
 * (t0150-symbols.sh): make_buffer() is always inlined into fill_slot(), so
 * that site has an inlined frame; direct_alloc() is a plain one. The tests
 * find the lines by the marker comments, never by number. Keeps every
 * block (4 × 1000..1003 bytes from fill_slot, 777 from direct_alloc);
 * prints nothing. */
#include <stdlib.h>
#include <string.h>

void *kept[5];

static inline __attribute__((always_inline)) void *make_buffer(size_t n)
{
	void *p = malloc(n); /* @inline-malloc */
	if (p)
		memset(p, 1, n);
	return p;
}

__attribute__((noinline)) void fill_slot(int i)
{
	kept[i] = make_buffer(1000 + (size_t)i); /* @call-make-buffer */
}

__attribute__((noinline)) void direct_alloc(void)
{
	char *p = malloc(777); /* @direct-malloc */
	if (p)
		p[0] = 1;
	kept[4] = p;
}

int main(void)
{
	for (int i = 0; i < 4; i++)
		fill_slot(i); /* @main-fill */
	direct_alloc();
	return kept[4] ? 0 : 1;
}
