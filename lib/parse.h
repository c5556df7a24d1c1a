/*
 * parse.h -- strict parsers for the small values wxauth accepts: integers
 * and UTF-8 text.  They never read past the given length and never accept
 * a prefix.
 */
#ifndef WXAUTH_PARSE_H
#define WXAUTH_PARSE_H

#include <stddef.h>

/*
 * Parse the NUL-terminated decimal integer s (an optional '-', then 1..19
 * digits, nothing else) into *out if it lies in [min, max].
 * Returns 0, or -1 leaving *out untouched.
 */
int	parse_long(const char *s, long min, long max, long *out);

/* The same for the n bytes at s (no terminator needed). */
int	parse_long_n(const char *s, size_t n, long min, long max, long *out);

/*
 * Check that the n bytes at s are valid UTF-8 (shortest form, no
 * surrogates, at most U+10FFFF).  Returns the number of code points, or -1.
 */
long	utf8_count(const char *s, size_t n);

/*
 * Does the n-byte UTF-8 string s contain a control character (C0, DEL or
 * C1, as code points)?  s must have passed utf8_count().  Returns 1 or 0.
 */
int	utf8_has_control(const char *s, size_t n);

#endif
