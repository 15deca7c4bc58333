/* An embedding program that loads the interpreter late (dlopen), then runs
 * a script as __main__: the shim must find the interpreter at a later
 * module scan, from its file (never through the loader's symbol scopes),
 * and walk its frames. RTLD_GLOBAL because the script's extension modules
 * (asyncio's _socket, select) resolve the interpreter's symbols there.
 * usage: pyembed LIBPYTHON SCRIPT ARG (paths without quotes)
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		fprintf(stderr, "pyembed: %s\n", dlerror());
		return 2;
	}
	void (*init)(void) = (void (*)(void))dlsym(h, "Py_Initialize");
	int (*run)(const char *) = (int (*)(const char *))dlsym(h, "PyRun_SimpleString");
	int (*fini)(void) = (int (*)(void))dlsym(h, "Py_FinalizeEx");
	if (!init || !run || !fini)
		return 2;
	init();
	/* The shim re-reads the module map at most every 100 ms after a stack
	 * met unknown code: allocations before that carry native frames only. */
	usleep(300000);
	char code[8192];
	snprintf(code, sizeof(code),
		 "import sys\nsys.argv = ['%s', '%s']\n"
		 "exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'), "
		 "{'__name__': '__main__'})\n",
		 argv[2], argv[3]);
	int rc = run(code);
	fini();
	return rc ? 1 : 0;
}
