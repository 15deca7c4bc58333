/* Allocates (so its thread has drawn its distance to the next sample), then
 * forks CHILDREN children one after the other; each allocates the same
 * BLOCKS (256) blocks of 1 000 bytes, frees them and exits. Under sampling,
 * siblings must sample independently of each other (t2000-sampled.sh): a
 * child that went on with its parent's countdown and random stream would
 * sample exactly the blocks its siblings sample. And each child has a
 * trace, even one that samples nothing.
 * usage: forksample CHILDREN [BLOCKS]; prints nothing. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

void *blocks[256]; /* not static: the compiler must keep the blocks */
void *first;

int main(int argc, char **argv)
{
	int children = argc > 1 ? atoi(argv[1]) : 8;
	int nblocks = argc > 2 ? atoi(argv[2]) : 256;
	if (nblocks < 0 || nblocks > 256)
		nblocks = 256;
	first = malloc(100);
	for (int c = 0; c < children; c++) {
		pid_t pid = fork();
		if (pid == 0) {
			for (int i = 0; i < nblocks; i++)
				blocks[i] = malloc(1000);
			for (int i = 0; i < nblocks; i++)
				free(blocks[i]);
			exit(0);
		}
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			return 1;
	}
	return 0;
}
