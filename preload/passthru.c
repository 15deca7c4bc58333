/* The exported entry points of malloc, free, calloc, realloc and C++'s
 * operator new and delete: a few instructions that jump straight to the next
 * allocator while the shim records nothing (dormant mode between windows,
 * tracing off), and otherwise to the hook (hooks.c, hooks_cxx.c) with the
 * stack untouched, so the hook sees the program's call as its own.
 * A jump, not a call: no frame, no register saved, the next allocator returns
 * to the program. In C a hook that could pass through still built a frame
 * pointer (HC_CALLER needs one) and read four thread-local and global words
 * first: 6.8 % on the churn benchmark with tracing off, against a bound of
 * 3 % for dormant mode.
 * A block of the own heap (ownheap.c) always goes to the hook, whatever the
 * state: the next allocator never sees one. While passing, what libc
 * allocates for the shim comes from the next allocator, and goes back there.
 *
 * Sampled mode's two common answers are here too, for the same reason:
 * malloc when no sample point falls in its bytes (hc_sample_skip), free
 * when no sampled block lives in its bucket (hc_sampled_never). In C each
 * paid the hook's frame and a second test of the own heap: about 1 % of
 * churn at --sample 512K (pinned runs, four measurements; performance.md).
 */
#include <stddef.h>

#include "internal.h"

_Atomic unsigned char hc_pass;

void *hc_hook_malloc(size_t size) HC_HIDDEN;
void hc_hook_free(void *p) HC_HIDDEN;
void *hc_hook_calloc(size_t n, size_t size) HC_HIDDEN;
void *hc_hook_realloc(void *old, size_t size) HC_HIDDEN;

/* Where the next allocator's entry points are in hc_real. */
#define OFF_MALLOC 0
#define OFF_FREE 8
#define OFF_CALLOC 16
#define OFF_REALLOC 24
#define OFF_NEW 160
#define OFF_DELETE 224
_Static_assert(offsetof(struct hc_real, malloc) == OFF_MALLOC, "hc_real layout");
_Static_assert(offsetof(struct hc_real, free) == OFF_FREE, "hc_real layout");
_Static_assert(offsetof(struct hc_real, calloc) == OFF_CALLOC, "hc_real layout");
_Static_assert(offsetof(struct hc_real, realloc) == OFF_REALLOC, "hc_real layout");
_Static_assert(offsetof(struct hc_real, cxx_new) == OFF_NEW, "hc_real layout");
_Static_assert(offsetof(struct hc_real, cxx_delete) == OFF_DELETE, "hc_real layout");
#define OWN_SIZE 1048576
_Static_assert(HC_OWN_SIZE == OWN_SIZE, "the own heap's size");
/* hc_tls.sample_left, and the sampled-block filter's bucket (internal.h's
 * hc_sampled_bucket: HC_SAMPLED_SHIFT and HC_SAMPLED_MUL are its own) */
#define OFF_SAMPLE_LEFT 24
_Static_assert(offsetof(struct hc_tls, sample_left) == OFF_SAMPLE_LEFT, "hc_tls layout");
#define FILTER_SHIFT 50
_Static_assert(FILTER_SHIFT == 64 - HC_SAMPLED_COUNT_BITS, "the filter's buckets");

#define STR_(x) #x
#define STR(x) STR_(x)

#define ENTRY(name)                                                                    \
	".globl " #name "\n"                                                           \
	".type " #name ", @function\n"                                                 \
	".p2align 4\n" #name ":\n"                                                     \
	"	.cfi_startproc\n"
#define END(name)                                                                      \
	"	.cfi_endproc\n"                                                        \
	".size " #name ", .-" #name "\n"

/* The next allocator's function at hc_real+off, or the hook where that
 * slot is empty: a C++ operator the next allocator lacks is the hook's to
 * stand in for. */
#define NEXT(hook, off)                                                                \
	"	movq hc_real+" STR(off) "(%rip), %rax\n"                               \
	"	testq %rax, %rax\n"                                                    \
	"	jz " #hook "\n"                                                        \
	"	jmp *%rax\n"

/* A block of the own heap (first argument) to the hook. */
#define OWN(hook)                                                                      \
	"	leaq hc_own_arena(%rip), %rax\n"                                       \
	"	negq %rax\n"                                                           \
	"	addq %rdi, %rax\n"                                                     \
	"	cmpq $" STR(OWN_SIZE) ", %rax\n"                                    \
	"	jb " #hook "\n"

/* The next allocator's function when passing, else the hook. */
#define PASS(name, hook, off)                                                          \
	ENTRY(name)                                                                    \
	"	cmpb $0, hc_pass(%rip)\n"                                              \
	"	je " #hook "\n" NEXT(hook, off) END(name)

/* The same for a call whose first argument is a block: one of the own heap
 * goes to the hook. */
#define PASS_BLOCK(name, hook, off)                                                    \
	ENTRY(name)                                                                    \
	"	cmpb $0, hc_pass(%rip)\n"                                              \
	"	je " #hook "\n" OWN(hook) NEXT(hook, off) END(name)

/* malloc: passing, or else sampling with no sample point in its bytes
 * (sample_left > size, as a signed count above 0), the next allocator's;
 * anything else, the hook. A countdown above 0 means the shim is resolved. */
#define MALLOC(name, hook, off)                                                        \
	ENTRY(name)                                                                    \
	"	cmpb $0, hc_pass(%rip)\n"                                              \
	"	jne 1f\n"                                                              \
	"	movq hc_tls@gottpoff(%rip), %rax\n"                                    \
	"	movq %fs:" STR(OFF_SAMPLE_LEFT) "(%rax), %rcx\n"                       \
	"	testq %rcx, %rcx\n"                                                    \
	"	jle " #hook "\n"                                                       \
	"	cmpq %rdi, %rcx\n"                                                     \
	"	jbe " #hook "\n"                                                       \
	"	subq %rdi, %rcx\n"                                                     \
	"	movq %rcx, %fs:" STR(OFF_SAMPLE_LEFT) "(%rax)\n"                       \
	"	jmp *hc_real+" STR(off) "(%rip)\n"                                     \
	"1:" NEXT(hook, off) END(name)

/* free: NULL and the own heap's blocks to the hook; passing, or else
 * sampling with no sampled block live in the block's bucket (its counter
 * 0; the counters exist once hc_real is resolved), the next allocator's. */
#define FREE(name, hook, off)                                                          \
	ENTRY(name) OWN(hook)                                                          \
	"	cmpb $0, hc_pass(%rip)\n"                                              \
	"	jne 1f\n"                                                              \
	"	movq hc_sampled_counts(%rip), %rax\n"                                  \
	"	testq %rax, %rax\n"                                                    \
	"	jz " #hook "\n"                                                        \
	"	movq %rdi, %rdx\n"                                                     \
	"	shrq $" STR(HC_SAMPLED_SHIFT) ", %rdx\n"                               \
	"	movabsq $" STR(HC_SAMPLED_MUL) ", %rcx\n"                              \
	"	imulq %rcx, %rdx\n"                                                    \
	"	shrq $" STR(FILTER_SHIFT) ", %rdx\n"                                   \
	"	cmpb $0, (%rax,%rdx)\n"                                                \
	"	jne " #hook "\n"                                                       \
	"	testq %rdi, %rdi\n"                                                    \
	"	jz " #hook "\n"                                                        \
	"1:" NEXT(hook, off) END(name)

#define NEW(i, name) PASS(name, hc_hook_##name, OFF_NEW + 8 * i)
#define DELETE(i, name) PASS_BLOCK(name, hc_hook_##name, OFF_DELETE + 8 * i)

__asm__(".text\n"
	MALLOC(malloc, hc_hook_malloc, OFF_MALLOC)
	FREE(free, hc_hook_free, OFF_FREE)
	PASS(calloc, hc_hook_calloc, OFF_CALLOC)
	PASS_BLOCK(realloc, hc_hook_realloc, OFF_REALLOC)
	/* the order of hooks_cxx.c's names */
	NEW(0, _Znwm) NEW(1, _Znam) NEW(2, _ZnwmRKSt9nothrow_t) NEW(3, _ZnamRKSt9nothrow_t)
	NEW(4, _ZnwmSt11align_val_t) NEW(5, _ZnamSt11align_val_t)
	NEW(6, _ZnwmSt11align_val_tRKSt9nothrow_t) NEW(7, _ZnamSt11align_val_tRKSt9nothrow_t)
	DELETE(0, _ZdlPv) DELETE(1, _ZdaPv) DELETE(2, _ZdlPvm) DELETE(3, _ZdaPvm)
	DELETE(4, _ZdlPvRKSt9nothrow_t) DELETE(5, _ZdaPvRKSt9nothrow_t)
	DELETE(6, _ZdlPvSt11align_val_t) DELETE(7, _ZdaPvSt11align_val_t)
	DELETE(8, _ZdlPvmSt11align_val_t) DELETE(9, _ZdaPvmSt11align_val_t)
	DELETE(10, _ZdlPvSt11align_val_tRKSt9nothrow_t)
	DELETE(11, _ZdaPvSt11align_val_tRKSt9nothrow_t));
