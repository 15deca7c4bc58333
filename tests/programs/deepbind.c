/* Opens tests/programs/libdeep.so with RTLD_DEEPBIND and passes blocks
 * across: 100 made in the plugin and freed here, 100 made here and freed
 * there, one of ours grown there, 3 kept by the plugin (22 500 bytes in
 * all), a 64 KiB mapping made and unmapped there and a 128 KiB one kept.
 * usage: deepbind path|bare|origin|lazy|own|ns DIR
 *   path    dlopen("DIR/libdeep.so", RTLD_NOW | RTLD_DEEPBIND)
 *   lazy    the same with RTLD_LAZY
 *   bare    dlopen("libdeep.so", ...): found only along this program's
 *           RUNPATH ($ORIGIN), which the shim's search path lacks
 *   origin  dlopen("$ORIGIN/libdeep.so", ...)
 *   own     DIR/libdeepown.so, deep-bound, with a malloc and free of its
 *           own: prints "own" when its code still reaches them
 *   ns      DIR/libdeep.so in a namespace of its own (dlmopen): blocks
 *           made and freed there; prints "ns"
 * Prints "same" when the plugin's malloc is the program's; the exit status
 * is 0. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *kept_here;

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	char path[4096];
	if (!strcmp(argv[1], "own")) {
		snprintf(path, sizeof path, "%s/libdeepown.so", argv[2]);
		void *h = dlopen(path, RTLD_NOW | RTLD_DEEPBIND);
		int (*roundtrip)(void) = h ? (int (*)(void))dlsym(h, "deep_own_roundtrip") : NULL;
		if (!roundtrip || !roundtrip())
			return 3;
		puts("own");
		return 0;
	}
	if (!strcmp(argv[1], "ns")) {
		snprintf(path, sizeof path, "%s/libdeep.so", argv[2]);
		void *h = dlmopen(LM_ID_NEWLM, path, RTLD_NOW);
		if (!h) {
			fprintf(stderr, "deepbind: %s\n", dlerror());
			return 3;
		}
		char *(*make)(size_t) = (char *(*)(size_t))dlsym(h, "deep_make");
		void (*take)(void *) = (void (*)(void *))dlsym(h, "deep_take");
		for (int i = 0; i < 100; i++)
			take(make(100 + (size_t)i));
		puts("ns");
		return 0;
	}
	int mode = RTLD_NOW | RTLD_DEEPBIND;
	const char *name = path;
	if (!strcmp(argv[1], "bare"))
		name = "libdeep.so";
	else if (!strcmp(argv[1], "origin"))
		name = "$ORIGIN/libdeep.so";
	else
		snprintf(path, sizeof path, "%s/libdeep.so", argv[2]);
	if (!strcmp(argv[1], "lazy"))
		mode = RTLD_LAZY | RTLD_DEEPBIND;
	void *h = dlopen(name, mode);
	if (!h) {
		fprintf(stderr, "deepbind: %s\n", dlerror());
		return 3;
	}
	if (dlerror())
		puts("an error pending after a dlopen that succeeded");
	char *(*make)(size_t) = (char *(*)(size_t))dlsym(h, "deep_make");
	void (*take)(void *) = (void (*)(void *))dlsym(h, "deep_take");
	void (*keep)(int, size_t) = (void (*)(int, size_t))dlsym(h, "deep_keep");
	void *(*grow)(void *, size_t) = (void *(*)(void *, size_t))dlsym(h, "deep_grow");
	void *(*map)(size_t) = (void *(*)(size_t))dlsym(h, "deep_map");
	int (*unmap)(void *, size_t) = (int (*)(void *, size_t))dlsym(h, "deep_unmap");
	void *(*malloc_addr)(void) = (void *(*)(void))dlsym(h, "deep_malloc_addr");
	for (int i = 0; i < 100; i++)
		free(make(100 + (size_t)i));
	for (int i = 0; i < 100; i++)
		take(malloc(200 + (size_t)i));
	free(grow(malloc(10), 4000));
	for (int i = 0; i < 3; i++)
		keep(i, 5000 + 2500 * (size_t)i);
	unmap(map(65536), 65536);
	map(131072);
	kept_here = malloc(777);
	puts(malloc_addr() == (void *)malloc ? "same" : "different");
	return 0;
}
