/*
 * form.h -- application/x-www-form-urlencoded decoding (query strings and
 * form bodies), as the WHATWG URL standard describes it: pairs separated by
 * '&', name and value by the first '=', '+' is a space, %XX a byte.
 * Unlike browsers we reject a '%' not followed by two hex digits.
 */
#ifndef WXAUTH_FORM_H
#define WXAUTH_FORM_H

#include <stddef.h>

/*
 * Call cb for each pair of the n bytes at s, with the decoded name and
 * value (each NUL-terminated, with its length since it may hold NUL bytes;
 * valid only during the call).  Empty pairs are skipped.
 * Returns 0; -1 on a malformed escape; or cb's first non-zero return.
 */
int	form_each(const char *s, size_t n,
	    int (*cb)(const char *name, size_t nl, const char *val, size_t vl,
	    void *arg), void *arg);

#endif
