/* String escaping for output (see escape.h). It must never let a byte from a
 * trace reach the output unescaped when it could break the format: a JSON
 * consumer must always get valid JSON in valid UTF-8.
 */
#include "escape.h"

#include <string.h>

size_t hc_utf8_seq(const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	uint8_t b = p[0];
	if (b < 0x80)
		return 1;
	size_t len;
	uint32_t min, cp;
	if (b >= 0xc2 && b <= 0xdf) {
		len = 2, min = 0x80, cp = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		len = 3, min = 0x800, cp = b & 0x0f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		len = 4, min = 0x10000, cp = b & 0x07;
	} else {
		return 0; /* a continuation byte, or a lead byte no valid form uses */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void hc_put_utf8(FILE *f, const char *s, size_t n, hc_byte_esc esc)
{
	const uint8_t *p = (const uint8_t *)s;
	char buf[8];
	for (size_t i = 0; i < n;) {
		size_t k = hc_utf8_seq(p + i, n - i);
		if (k > 1) {
			fwrite(p + i, 1, k, f);
			i += k;
			continue;
		}
		const char *e = esc(p[i], k == 0, buf);
		if (e)
			fputs(e, f);
		else
			putc(p[i], f);
		i++;
	}
}

static int terminal_bad(uint8_t c, int invalid)
{
	return invalid || c < 0x20 || c == 0x7f;
}

static const char *terminal_byte(uint8_t c, int invalid, char *buf)
{
	(void)buf;
	return terminal_bad(c, invalid) ? "?" : NULL;
}

void hc_put_terminal(FILE *f, const char *s, size_t n)
{
	hc_put_utf8(f, s, n, terminal_byte);
}

void hc_terminal_safe(char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t k = hc_utf8_seq((const uint8_t *)s + i, n - i);
		if (k > 1) {
			i += k;
			continue;
		}
		if (terminal_bad((uint8_t)s[i], k == 0))
			s[i] = '?';
		i++;
	}
}

static const char *json_byte(uint8_t c, int invalid, char *buf)
{
	if (invalid)
		return "\\ufffd";
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	case '\b': return "\\b";
	case '\f': return "\\f";
	}
	if (c < 0x20 || c == 0x7f) {
		snprintf(buf, 8, "\\u%04x", c);
		return buf;
	}
	return NULL;
}

void hc_put_json_str(FILE *f, const char *s, size_t n)
{
	putc('"', f);
	hc_put_utf8(f, s, n, json_byte);
	putc('"', f);
}

static const char *quoted_byte(uint8_t c, int invalid, char *buf)
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	}
	if (invalid || c < 0x20 || c == 0x7f) {
		snprintf(buf, 8, "\\x%02x", c);
		return buf;
	}
	return NULL;
}

void hc_put_quoted(FILE *f, const char *s, size_t n)
{
	putc('"', f);
	hc_put_utf8(f, s, n, quoted_byte);
	putc('"', f);
}

void hc_put_hex_id(FILE *f, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	int is_hex = n > 0 && n % 2 == 0;
	for (size_t i = 0; i < n && is_hex; i++)
		is_hex = (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f');
	if (is_hex) {
		fwrite(p, 1, n, f);
		return;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static const char *xml_byte(uint8_t c, int invalid, char *buf)
{
	(void)buf;
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&apos;";
	}
	/* XML 1.0 forbids other control characters, even escaped */
	if (invalid || (c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f)
		return "\xef\xbf\xbd"; /* U+FFFD */
	return NULL;
}

void hc_put_xml_str(FILE *f, const char *s, size_t n)
{
	hc_put_utf8(f, s, n, xml_byte);
}

void hc_put_html_str(FILE *f, const char *s, size_t n)
{
	hc_put_xml_str(f, s, n);
}
