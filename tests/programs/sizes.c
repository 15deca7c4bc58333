/* Allocates COUNT blocks of SIZE bytes, writes each, frees them all; prints
 * nothing. A program of few big blocks or of many small ones, for the tests
 * that tell a program from its helpers (t0600-exec-chain.sh).
 * usage: sizes COUNT SIZE */
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	long count = atol(argv[1]);
	size_t size = (size_t)atol(argv[2]);
	if (count < 1 || size < 1)
		return 2;
	void **v = malloc((size_t)count * sizeof(*v));
	if (!v)
		return 1;
	for (long i = 0; i < count; i++) {
		v[i] = malloc(size);
		if (!v[i])
			return 1;
		memset(v[i], (int)i, size);
	}
	for (long i = 0; i < count; i++)
		free(v[i]);
	free(v);
	return 0;
}
