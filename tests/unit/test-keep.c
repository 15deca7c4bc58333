/* preload/keep.c: what a dormant process's collector keeps between
 * windows. Every stack and code object put is found again whole, by its
 * key, through the tables' growth; the first copy of a key stays; key 0
 * (never sent) is refused. */
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

#define N 50000

static uint64_t key_of(uint64_t i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ull;
}

int main(void)
{
	uint64_t frames[64];
	int bad = 0;
	for (uint64_t i = 0; i < N; i++) {
		unsigned n = 1 + (unsigned)(i % 64);
		for (unsigned k = 0; k < n; k++)
			frames[k] = i * 131 + k;
		bad += hc_keep_stack(key_of(i), frames, n) != 0;
	}
	is_int(bad, 0, "%d stacks of 1 to 64 frames kept", N);
	int wrong = 0;
	for (uint64_t i = 0; i < N; i++) {
		unsigned n;
		const uint64_t *f = hc_kept_stack(key_of(i), &n);
		if (!f || n != 1 + (unsigned)(i % 64)) {
			wrong++;
			continue;
		}
		for (unsigned k = 0; k < n; k++)
			wrong += f[k] != i * 131 + k;
	}
	is_int(wrong, 0, "every one found whole after the tables grew");
	unsigned n = 99;
	ok(!hc_kept_stack(12345, &n) && n == 0, "an unknown hash: none");
	frames[0] = 7;
	ok(hc_keep_stack(key_of(3), frames, 1) == 0 && hc_kept_stack(key_of(3), &n) && n == 4,
	   "a hash put again: the first copy stays");
	ok(hc_keep_stack(0, frames, 1) != 0, "hash 0 (never sent) refused");

	uint64_t ev[6] = {HC_EV_HDR(HC_EV_CODE, 6, 0), 41, 1, 2, 3, 4};
	ok(hc_keep_code(41, ev) == 0, "a CODE event kept");
	ev[1] = 42;
	ev[5] = 9;
	hc_keep_code(42, ev);
	const uint64_t *c41 = hc_kept_code(41), *c42 = hc_kept_code(42);
	ok(c41 && c42 && c41[1] == 41 && c41[5] == 4 && c42[5] == 9 &&
	   HC_EV_WORDS(c41[0]) == 6, "found by id, all its words");
	ok(!hc_kept_code(43), "an unknown id: none");
	return done_testing();
}
