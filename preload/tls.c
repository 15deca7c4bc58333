/* The shim's per-thread state (struct hc_tls, internal.h): its one
 * definition, apart from thread.c's ring bookkeeping so that the modules
 * that only read it (the own heap, the unwinder) link without the rest. */
#include "internal.h"

__thread struct hc_tls hc_tls __attribute__((tls_model("initial-exec")));
