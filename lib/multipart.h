/*
 * multipart.h -- multipart/form-data (RFC 7578), as wx.uploadFile sends it.
 *
 * The body is already in memory, bounded by its route's limit; the parser
 * allocates nothing and copies nothing: each part is pointers into the
 * body.  Bounded everywhere: at most MP_PARTS_MAX parts, MP_HEADERS_MAX
 * header bytes a part, a boundary of 1..70 characters (RFC 2046).  Any
 * deviation -- no opening boundary, a part without a blank line after its
 * headers, no closing boundary, a header line without ':' -- is malformed.
 */
#ifndef WXAUTH_MULTIPART_H
#define WXAUTH_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#define MP_BOUNDARY_MAX	70
#define MP_PARTS_MAX	16
#define MP_HEADERS_MAX	2048

/* One part: strings are not NUL-terminated (pointer and length). */
struct mp_part {
	const char	*name;		/* Content-Disposition name, or NULL */
	size_t		 name_len;
	const char	*filename;	/* its filename, or NULL */
	size_t		 filename_len;
	const char	*type;		/* Content-Type, or NULL */
	size_t		 type_len;
	const uint8_t	*data;
	size_t		 len;
};

/*
 * The boundary parameter of a multipart/form-data Content-Type (case-
 * insensitive type, the parameter quoted or not) into out (MP_BOUNDARY_MAX
 * + 1 bytes).  0, or -1 if ct is not multipart/form-data with a valid
 * boundary.
 */
int	multipart_boundary(const char *ct, char out[MP_BOUNDARY_MAX + 1]);

/*
 * Call cb for each part of the len bytes at body, in order.  Returns 0;
 * -1 if the body is malformed (cb may have been called for the parts before
 * the fault); or cb's first non-zero return.
 */
int	multipart_each(const uint8_t *body, size_t len, const char *boundary,
	    int (*cb)(const struct mp_part *, void *), void *arg);

#endif
