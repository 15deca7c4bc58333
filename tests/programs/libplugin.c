/* A library the test program dlopens: its allocation sites live in a
 * module that was not mapped when tracing began. */
#include <stdlib.h>
#include <string.h>

void *plugin_alloc(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}
