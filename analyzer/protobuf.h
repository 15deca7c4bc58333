/* A minimal protocol buffers encoder for the pprof report: varints, 64-bit
 * two's complement ints, length-delimited fields (strings, bytes, packed
 * repeated scalars) and nested messages, appended to one growing buffer.
 *
 * Invariants callers rely on:
 *  - the output is canonical: every varint, length prefix included, takes
 *    the fewest bytes (a nested message is measured when it ends, then
 *    moved up by the length's size);
 *  - errors are sticky: after an allocation failure or a misuse (too deep,
 *    an end without a begin) every call does nothing and hc_pb_finish()
 *    returns -ENOMEM or -EINVAL; callers check once, at the end;
 *  - no field is ever omitted: a zero is written when asked for (proto3
 *    readers accept explicit defaults).
 */
#ifndef HC_PROTOBUF_H
#define HC_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

/* Nested messages open at once (pprof needs 2: Location > Line). */
#define HC_PB_MAX_DEPTH 8

struct hc_pb {
	uint8_t *buf;
	size_t len, cap;
	int err;              /* 0, or -errno: sticky */
	size_t open[HC_PB_MAX_DEPTH]; /* start of each open message's body */
	int depth;
};

void hc_pb_init(struct hc_pb *pb);
void hc_pb_release(struct hc_pb *pb);
/* 0 when the buffer holds the whole encoding (every begin ended), else
 * -errno (-EINVAL: a message left open or ended twice). */
int hc_pb_finish(struct hc_pb *pb);

/* A bare varint, no tag (inside a packed field). */
void hc_pb_varint(struct hc_pb *pb, uint64_t v);
/* Wire type 0: uint64, or int64 / bool as their two's complement. */
void hc_pb_uint(struct hc_pb *pb, uint32_t field, uint64_t v);
void hc_pb_int(struct hc_pb *pb, uint32_t field, int64_t v);
/* Wire type 2: bytes or a string (not NUL-terminated). */
void hc_pb_bytes(struct hc_pb *pb, uint32_t field, const void *p, size_t n);
void hc_pb_str(struct hc_pb *pb, uint32_t field, const char *s);
/* A nested message or a packed repeated field: everything written between
 * begin and end is its body. */
void hc_pb_begin(struct hc_pb *pb, uint32_t field);
void hc_pb_end(struct hc_pb *pb);

/* Bytes the varint encoding of v takes (1..10). */
size_t hc_pb_varint_size(uint64_t v);

#endif
