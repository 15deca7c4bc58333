#define _GNU_SOURCE
/* dlopens a library and allocates through it (its frames must be covered by
 * a MODULES record written after the dlopen), from a thread it names
 * "plugin-worker" (a THREAD record must carry the name).
 * usage: plugins LIBPLUGIN.so; prints nothing. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

void *kept[3];
static void *(*plugin_alloc)(size_t);

static void *worker(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "plugin-worker");
	for (int i = 0; i < 3; i++)
		kept[i] = plugin_alloc(5000 + (size_t)i);
	struct timespec ts = {0, 300000000}; /* alive across a few snapshots */
	nanosleep(&ts, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	void *lib = dlopen(argc > 1 ? argv[1] : "libplugin.so", RTLD_NOW);
	if (!lib)
		return 2;
	plugin_alloc = (void *(*)(size_t))dlsym(lib, "plugin_alloc");
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, NULL);
	return kept[2] ? 0 : 1;
}
