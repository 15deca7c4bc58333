/* Unit tests of the protocol buffers encoder under the pprof report: the
 * examples of the protobuf encoding guide byte for byte, a nested message
 * long enough for a two-byte length (its body moves), and misuse reported
 * once at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protobuf.h"
#include "tap.h"

/* The buffer as lowercase hex, space-separated. */
static const char *hex(const struct hc_pb *pb)
{
	static char out[4096];
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < pb->len && n + 4 < sizeof(out); i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, i ? " %02x" : "%02x", pb->buf[i]);
	return out;
}

static void test_scalars(void)
{
	struct hc_pb pb;
	hc_pb_init(&pb);
	hc_pb_uint(&pb, 1, 150);
	is_int(hc_pb_finish(&pb), 0, "uint: no error");
	is_str(hex(&pb), "08 96 01", "uint: field 1 = 150 (the guide's example)");
	hc_pb_release(&pb);

	hc_pb_init(&pb);
	hc_pb_int(&pb, 1, -1);
	is_str(hex(&pb), "08 ff ff ff ff ff ff ff ff ff 01", "int: -1 takes ten bytes");
	hc_pb_release(&pb);

	hc_pb_init(&pb);
	hc_pb_uint(&pb, 1, 0);
	hc_pb_uint(&pb, 16, 1);
	is_str(hex(&pb), "08 00 80 01 01", "uint: a zero is written; field 16 takes a 2-byte tag");
	hc_pb_release(&pb);

	hc_pb_init(&pb);
	hc_pb_str(&pb, 2, "testing");
	hc_pb_bytes(&pb, 6, "", 0);
	is_str(hex(&pb), "12 07 74 65 73 74 69 6e 67 32 00",
	       "string: field 2 = \"testing\", then an empty one");
	hc_pb_release(&pb);

	is_u64(hc_pb_varint_size(0), 1, "varint size: 0");
	is_u64(hc_pb_varint_size(127), 1, "varint size: 127");
	is_u64(hc_pb_varint_size(128), 2, "varint size: 128");
	is_u64(hc_pb_varint_size(UINT64_MAX), 10, "varint size: 2^64-1");
}

static void test_nested(void)
{
	struct hc_pb pb;
	hc_pb_init(&pb);
	hc_pb_begin(&pb, 3);
	hc_pb_uint(&pb, 1, 150);
	hc_pb_end(&pb);
	is_str(hex(&pb), "1a 03 08 96 01", "nested: field 3 = {1: 150} (the guide's example)");
	hc_pb_release(&pb);

	hc_pb_init(&pb);
	hc_pb_begin(&pb, 4);
	hc_pb_varint(&pb, 3);
	hc_pb_varint(&pb, 270);
	hc_pb_varint(&pb, 86942);
	hc_pb_end(&pb);
	is_str(hex(&pb), "22 06 03 8e 02 9e a7 05", "packed: field 4 = [3, 270, 86942]");
	hc_pb_release(&pb);

	/* Two levels, the inner body 200 bytes: both lengths take two bytes,
	 * the inner one first, so the outer one must count the inner's growth. */
	char s[200];
	memset(s, 'x', sizeof(s));
	hc_pb_init(&pb);
	hc_pb_uint(&pb, 1, 7);
	hc_pb_begin(&pb, 2);
	hc_pb_begin(&pb, 3);
	hc_pb_bytes(&pb, 4, s, sizeof(s));
	hc_pb_end(&pb);
	hc_pb_uint(&pb, 5, 1);
	hc_pb_end(&pb);
	is_int(hc_pb_finish(&pb), 0, "deep: no error");
	/* 08 07 | 12 LL LL | 1a ll ll | 22 c8 01 x*200 | 28 01 */
	is_u64(pb.len, 2 + 3 + 3 + 3 + 200 + 2, "deep: total length");
	uint8_t want_head[] = {0x08, 0x07, 0x12, 0xd0, 0x01, 0x1a, 0xcb, 0x01, 0x22, 0xc8, 0x01};
	if (!ok(pb.len >= sizeof(want_head) && !memcmp(pb.buf, want_head, sizeof(want_head)),
		"deep: lengths 208 and 203, canonical"))
		diag("got %.32s...", hex(&pb));
	ok(pb.buf[11] == 'x' && pb.buf[210] == 'x' && pb.buf[211] == 0x28 && pb.buf[212] == 0x01,
	   "deep: body moved whole, the outer field after it");
	hc_pb_release(&pb);
}

static void test_misuse(void)
{
	struct hc_pb pb;
	hc_pb_init(&pb);
	hc_pb_begin(&pb, 1);
	is_int(hc_pb_finish(&pb), -EINVAL, "a message left open: -EINVAL");
	hc_pb_release(&pb);

	hc_pb_init(&pb);
	hc_pb_end(&pb);
	hc_pb_uint(&pb, 1, 1);
	is_int(hc_pb_finish(&pb), -EINVAL, "an end without a begin: -EINVAL, sticky");
	hc_pb_release(&pb);

	hc_pb_init(&pb);
	for (int i = 0; i <= HC_PB_MAX_DEPTH; i++)
		hc_pb_begin(&pb, 1);
	is_int(hc_pb_finish(&pb), -EINVAL, "nesting deeper than HC_PB_MAX_DEPTH: -EINVAL");
	hc_pb_release(&pb);

	/* A large buffer: grows past its first capacity several times. */
	hc_pb_init(&pb);
	for (int i = 0; i < 100000; i++)
		hc_pb_uint(&pb, 1, (uint64_t)i);
	size_t want = 0;
	for (int i = 0; i < 100000; i++)
		want += 1 + hc_pb_varint_size((uint64_t)i);
	is_int(hc_pb_finish(&pb), 0, "100000 fields: no error");
	is_u64(pb.len, want, "100000 fields: every byte there");
	hc_pb_release(&pb);
}

int main(void)
{
	test_scalars();
	test_nested();
	test_misuse();
	return done_testing();
}
