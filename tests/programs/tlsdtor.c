/* Threads whose TLS destructors allocate and free (pthread key destructors
 * run after the thread function returned, in several rounds): those events
 * must still be caught. Checked against valgrind (t0300-process.sh).
 * usage: tlsdtor; prints nothing. */
#include <pthread.h>
#include <stdlib.h>

/* A short-lived block the compiler cannot optimise away (a local volatile:
 * threads may call this at once). */
static void churn_one(size_t n)
{
	void *volatile p = malloc(n);
	free(p);
}

static pthread_key_t k1, k2;
void *kept[64];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
int nkept;

static void keep(void *p)
{
	pthread_mutex_lock(&lock);
	kept[nkept++] = p;
	pthread_mutex_unlock(&lock);
}

static void dtor2(void *v)
{
	free(v);
	keep(malloc(333)); /* a late allocation, kept */
}

static void dtor1(void *v)
{
	free(v);
	/* Re-arms key 2 from a destructor: runs in the next round. */
	pthread_setspecific(k2, malloc(77));
	churn_one(55);
}

static void *work(void *arg)
{
	(void)arg;
	pthread_setspecific(k1, malloc(100));
	return NULL;
}

int main(void)
{
	pthread_key_create(&k1, dtor1);
	pthread_key_create(&k2, dtor2);
	for (int i = 0; i < 20; i++) {
		pthread_t t;
		pthread_create(&t, NULL, work, NULL);
		pthread_join(t, NULL);
	}
	return nkept == 20 ? 0 : 1;
}
