/*
 * buf.h -- a growable byte buffer with a hard maximum set at creation.
 *
 * The contents are always NUL-terminated (the terminator is not counted in
 * len and does not count against max).  A function that fails leaves the
 * buffer as it was.
 */
#ifndef WXAUTH_BUF_H
#define WXAUTH_BUF_H

#include <stddef.h>

struct buf {
	char	*p;	/* owned; NULL until the first append */
	size_t	 len;	/* bytes used */
	size_t	 cap;	/* bytes allocated, terminator included */
	size_t	 max;	/* most bytes len may reach */
};

/* Initialise an empty buffer that may hold at most max bytes. */
void	buf_init(struct buf *, size_t max);

/* Free the contents; the buffer is empty again and may be reused. */
void	buf_free(struct buf *);

/* Forget the contents, keeping the allocation. */
void	buf_reset(struct buf *);

/* Append n bytes.  Returns 0, or -1 if max would be exceeded. */
int	buf_add(struct buf *, const void *, size_t n);

/* Append a NUL-terminated string.  Returns 0 or -1 as buf_add(). */
int	buf_adds(struct buf *, const char *);

/*
 * Append printf-style text.  Returns 0 or -1 (over max, or bad format).
 * No argument may point into the buffer itself (the text is formatted
 * into its spare room).
 */
int	buf_addf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* The contents as a string: never NULL ("" when empty); owned by buf. */
const char *buf_str(const struct buf *);

#endif
