/* pvalloc and valloc, which valgrind cannot serve (it aborts at pvalloc):
 * the test checks the figures against the sizes below, which it knows.
 * Keeps pvalloc(5000) and valloc(100); frees pvalloc(1). Prints nothing. */
#include <malloc.h>
#include <stdlib.h>

void *kept[2];

int main(void)
{
	kept[0] = pvalloc(5000);
	kept[1] = valloc(100);
	void *p = pvalloc(1);
	free(p);
	return kept[0] && kept[1] ? 0 : 1;
}
