/* Sends a process many signals, as fast as it can within a pace: COUNT
 * signals, one every GAP_US microseconds (0: no pause), stopping early when
 * the process is gone. Prints how many were sent. For the signal-storm
 * tests (t1600-faults.sh).
 * usage: sigstorm PID COUNT [GAP_US [SIGNAL]]   (default SIGUSR1) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: sigstorm PID COUNT [GAP_US [SIGNAL]]\n");
		return 2;
	}
	pid_t pid = (pid_t)atol(argv[1]);
	long count = atol(argv[2]);
	long gap = argc > 3 ? atol(argv[3]) : 0;
	int sig = argc > 4 ? atoi(argv[4]) : SIGUSR1;
	long sent = 0;
	for (; sent < count; sent++) {
		if (kill(pid, sig)) {
			if (errno == ESRCH)
				break;
			perror("sigstorm: kill");
			return 1;
		}
		if (gap) {
			struct timespec ts = {gap / 1000000, (gap % 1000000) * 1000};
			nanosleep(&ts, NULL);
		}
	}
	printf("%ld\n", sent);
	return 0;
}
