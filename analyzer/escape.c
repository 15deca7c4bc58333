/* String escaping for output (see escape.h). It must never let a byte from a
 * trace reach the output unescaped when it could break the format: a JSON
 * consumer must always get valid JSON in valid UTF-8.
 */
#include "escape.h"

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

void hc_put_json_str(FILE *f, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	putc('"', f);
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t k = hc_utf8_seq(p + i, n - i);
		if (k == 0) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		if (k > 1) {
			fwrite(p + i, 1, k, f);
			i += k;
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				putc(c, f);
		}
		i++;
	}
	putc('"', f);
}

void hc_put_quoted(FILE *f, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	putc('"', f);
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t k = hc_utf8_seq(p + i, n - i);
		if (k > 1) {
			fwrite(p + i, 1, k, f);
			i += k;
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (k == 0 || c < 0x20 || c == 0x7f)
				fprintf(f, "\\x%02x", c);
			else
				putc(c, f);
		}
		i++;
	}
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

void hc_put_xml_str(FILE *f, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t k = hc_utf8_seq(p + i, n - i);
		if (k == 0) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			i++;
			continue;
		}
		if (k > 1) {
			fwrite(p + i, 1, k, f);
			i += k;
			continue;
		}
		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			/* XML 1.0 forbids other control characters, even escaped */
			if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f)
				fputs("\xef\xbf\xbd", f);
			else
				putc(c, f);
		}
		i++;
	}
}

void hc_put_html_str(FILE *f, const char *s, size_t n)
{
	hc_put_xml_str(f, s, n);
}
