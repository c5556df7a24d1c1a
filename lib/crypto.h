/*
 * crypto.h -- the cryptographic primitives wxauth uses, over mbedTLS and
 * the kernel's CSPRNG.  Only APIs present in both mbedTLS 2.28 and 3.x.
 */
#ifndef WXAUTH_CRYPTO_H
#define WXAUTH_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32

/*
 * Fill buf with n bytes from the OS CSPRNG (getrandom(2)).
 * Returns 0, or -1 if the kernel could not provide them.
 */
int	crypto_random(void *buf, size_t n);

/* out = SHA-256(in).  Returns 0 or -1. */
int	crypto_sha256(const void *in, size_t n, uint8_t out[SHA256_LEN]);

/* Compare n bytes in time independent of their contents.  1 if equal. */
int	crypto_equal(const void *a, const void *b, size_t n);

#endif
