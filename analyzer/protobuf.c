/* The protocol buffers encoder (protobuf.h). A nested message is written in
 * place, then its length is inserted before it: the body moves up by the
 * length's one to five bytes. Bodies are small (a Location, a Sample), so
 * the move costs little; the Profile itself is the top level and never moves.
 */
#include "protobuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heapcreep/trace.h" /* hc_put_uvarint: protobuf's varints are LEB128 too */

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

void hc_pb_init(struct hc_pb *pb)
{
	memset(pb, 0, sizeof(*pb));
}

void hc_pb_release(struct hc_pb *pb)
{
	free(pb->buf);
	memset(pb, 0, sizeof(*pb));
}

int hc_pb_finish(struct hc_pb *pb)
{
	if (!pb->err && pb->depth)
		pb->err = -EINVAL;
	return pb->err;
}

static int reserve(struct hc_pb *pb, size_t more)
{
	if (pb->err)
		return -1;
	if (more > SIZE_MAX / 2 - pb->len) {
		pb->err = -ENOMEM;
		return -1;
	}
	if (pb->len + more <= pb->cap)
		return 0;
	size_t cap = pb->cap ? pb->cap : 4096;
	while (cap < pb->len + more)
		cap *= 2;
	uint8_t *b = realloc(pb->buf, cap);
	if (!b) {
		pb->err = -ENOMEM;
		return -1;
	}
	pb->buf = b;
	pb->cap = cap;
	return 0;
}

size_t hc_pb_varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

void hc_pb_varint(struct hc_pb *pb, uint64_t v)
{
	if (reserve(pb, 10))
		return;
	pb->len += hc_put_uvarint(pb->buf + pb->len, v);
}

static void tag(struct hc_pb *pb, uint32_t field, unsigned wire)
{
	hc_pb_varint(pb, (uint64_t)field << 3 | wire);
}

void hc_pb_uint(struct hc_pb *pb, uint32_t field, uint64_t v)
{
	tag(pb, field, WIRE_VARINT);
	hc_pb_varint(pb, v);
}

void hc_pb_int(struct hc_pb *pb, uint32_t field, int64_t v)
{
	hc_pb_uint(pb, field, (uint64_t)v); /* negative: ten bytes, as protobuf does */
}

void hc_pb_bytes(struct hc_pb *pb, uint32_t field, const void *p, size_t n)
{
	tag(pb, field, WIRE_LEN);
	hc_pb_varint(pb, n);
	if (!n || reserve(pb, n))
		return;
	memcpy(pb->buf + pb->len, p, n);
	pb->len += n;
}

void hc_pb_str(struct hc_pb *pb, uint32_t field, const char *s)
{
	hc_pb_bytes(pb, field, s, strlen(s));
}

void hc_pb_begin(struct hc_pb *pb, uint32_t field)
{
	tag(pb, field, WIRE_LEN);
	if (pb->err)
		return;
	if (pb->depth == HC_PB_MAX_DEPTH) {
		pb->err = -EINVAL;
		return;
	}
	pb->open[pb->depth++] = pb->len;
}

void hc_pb_end(struct hc_pb *pb)
{
	if (pb->err)
		return;
	if (!pb->depth) {
		pb->err = -EINVAL;
		return;
	}
	size_t start = pb->open[--pb->depth], body = pb->len - start;
	size_t k = hc_pb_varint_size(body);
	if (reserve(pb, k))
		return;
	memmove(pb->buf + start + k, pb->buf + start, body);
	hc_put_uvarint(pb->buf + start, body);
	pb->len += k;
}
