/*
 * crypto.c -- CSPRNG, hashing and constant-time comparison (see crypto.h).
 */
#include <sys/random.h>

#include <errno.h>

#include <mbedtls/md.h>

#include "crypto.h"

int
crypto_random(void *buf, size_t n)
{
	unsigned char	*p = buf;
	ssize_t		 r;

	while (n > 0) {
		r = getrandom(p, n, 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
crypto_sha256(const void *in, size_t n, uint8_t out[SHA256_LEN])
{
	const mbedtls_md_info_t	*md;

	if ((md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256)) == NULL)
		return -1;
	return mbedtls_md(md, in, n, out) == 0 ? 0 : -1;
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char	*x = a, *y = b;
	unsigned char			 d = 0;
	size_t				 i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
