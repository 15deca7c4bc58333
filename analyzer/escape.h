/* Writing strings from a trace safely: a trace holds whatever bytes the traced
 * program had (paths, arguments, thread names), so no string from a trace is
 * ever printed raw. JSON gets valid UTF-8 with every control character
 * escaped; human-readable output gets C-style escapes.
 */
#ifndef HC_ESCAPE_H
#define HC_ESCAPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Length (1-4) of the well-formed UTF-8 sequence at p, or 0 when the bytes
 * there are not one (overlong forms, surrogates, > U+10FFFF, cut short). */
size_t hc_utf8_seq(const uint8_t *p, size_t n);

/* What to write for one byte that is not part of a multi-byte UTF-8
 * sequence (invalid: not part of any well-formed one; such a byte is always
 * >= 0x80): the text to write instead, or NULL for the byte itself. buf (8
 * bytes) is scratch for the answer. */
typedef const char *(*hc_byte_esc)(uint8_t c, int invalid, char *buf);
/* Writes s: each well-formed multi-byte UTF-8 sequence as it is, every other
 * byte as esc says. Every escaper here is one such policy. */
void hc_put_utf8(FILE *f, const char *s, size_t n, hc_byte_esc esc);

/* A JSON string literal, quotes included: control characters as \uXXXX (or
 * \n, \t, ...), each byte that is not part of valid UTF-8 as \uFFFD. */
void hc_put_json_str(FILE *f, const char *s, size_t n);
/* A double-quoted string for people: valid UTF-8 as is, \" \\ \n \t \r, and
 * any other control or invalid byte as \xNN. */
void hc_put_quoted(FILE *f, const char *s, size_t n);
/* Text for one terminal line: valid UTF-8 as is, each control character and
 * each byte that is not valid UTF-8 as '?', so a trace's string can neither
 * drive the terminal nor garble the line. */
void hc_put_terminal(FILE *f, const char *s, size_t n);
/* The same in place, on a NUL-terminated string (one '?' per byte, so the
 * length stays). */
void hc_terminal_safe(char *s);
/* Bytes as lowercase hex (a build-id). A build-id already stored as hex text
 * is printed as it is, so either way of storing it prints the same. */
void hc_put_hex_id(FILE *f, const char *s, size_t n);

/* Text for XML content or attribute values: & < > " ' escaped; control
 * characters XML cannot carry and invalid UTF-8 become U+FFFD. */
void hc_put_xml_str(FILE *f, const char *s, size_t n);
/* Text for HTML content or quoted attribute values: the same escapes (HTML5
 * knows &apos;), so a trace's string can never open a tag or leave a quote;
 * control characters and invalid UTF-8 become U+FFFD. */
void hc_put_html_str(FILE *f, const char *s, size_t n);

#endif
