/*
 * fuzz.h -- what the libFuzzer targets of tests/fuzz/ share: the entry
 * points libFuzzer calls, an invariant check that aborts (libFuzzer then
 * keeps the input as a crash artifact), and a way to cut an input into
 * NUL-terminated parts.
 */
#ifndef WXAUTH_FUZZ_H
#define WXAUTH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t	LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t	LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
	    unsigned int seed);

/* An invariant: when it does not hold, say which and abort. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant violated: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/*
 * Cut off the next part of [*p, *p + *n): the bytes up to the next NUL (or
 * all that is left), copied into a buffer of exactly that size plus its
 * terminator, so that AddressSanitizer sees any read past the end.  The
 * caller frees it.  *p and *n move past the part and its NUL.
 */
static inline char *
fuzz_part(const uint8_t **p, size_t *n, size_t *len)
{
	const uint8_t	*z = memchr(*p, '\0', *n);
	size_t		 l = z != NULL ? (size_t)(z - *p) : *n;
	char		*s;

	if ((s = malloc(l + 1)) == NULL)
		abort();
	memcpy(s, *p, l);
	s[l] = '\0';
	*p += l;
	*n -= l;
	if (z != NULL) {
		(*p)++;
		(*n)--;
	}
	if (len != NULL)
		*len = l;
	return s;
}

/* An exact-size copy of n bytes (not terminated), for the same reason. */
static inline char *
fuzz_dup(const void *p, size_t n)
{
	char	*s;

	if ((s = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	return s;
}

#endif
