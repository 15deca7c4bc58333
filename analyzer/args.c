/* Command-line helpers shared by the commands (cli.h). Kept out of main.c,
 * which the unit tests do not link. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int hc_one_trace_arg(int argc, char **argv, const char *usage, const char **path)
{
	int i = 1;
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	else if (i < argc && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
		printf("%s\n", usage);
		return 1;
	} else if (i < argc && argv[i][0] == '-' && argv[i][1]) {
		hc_err("%s: unknown option '%s'", argv[0], argv[i]);
		fprintf(stderr, "%s\n", usage);
		return -1;
	}
	if (argc - i != 1) {
		fprintf(stderr, "%s\n", usage);
		return -1;
	}
	*path = argv[i];
	return 0;
}
