/* Runs a command and writes its wall time, user and system CPU time (s, to
 * the microsecond) and peak RSS (KiB) to FILE: "wall user sys maxrss".
 * /usr/bin/time prints hundredths of a second, a tenth of a 0.1 s run; the
 * ratios of `make bench` need better.
 * usage: timeit FILE COMMAND [ARGS...]; exits as the command did. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: timeit FILE COMMAND [ARGS...]\n");
		return 2;
	}
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0) {
		perror("timeit: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("timeit: exec");
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("timeit: wait4");
		return 2;
	}
	double wall = now() - t0;
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror("timeit: fopen");
		return 2;
	}
	fprintf(f, "%.6f %.6f %.6f %ld\n", wall,
		(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
	fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
