/*
 * crypto.h -- the cryptographic primitives wxauth uses, over mbedTLS and
 * the kernel's CSPRNG.  Only APIs present in both mbedTLS 2.28 and 3.x.
 */
#ifndef WXAUTH_CRYPTO_H
#define WXAUTH_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32
#define SHA1_LEN	20
#define AES_BLOCK	16
#define GCM_KEY_LEN	32	/* AES-256-GCM */
#define GCM_IV_LEN	12
#define GCM_TAG_LEN	16

/*
 * Fill buf with n bytes from the OS CSPRNG (getrandom(2)).
 * Returns 0, or -1 if the kernel could not provide them.
 */
int	crypto_random(void *buf, size_t n);

/*
 * Fill buf with n (at most 16) bytes unique in the process and not
 * predictable without its key: AES-128 of a counter, under a key drawn from
 * crypto_random() on first use.  No syscall per call: for identifiers (the
 * request id), never for secrets.
 */
void	crypto_unique(void *buf, size_t n);

/* out = SHA-256(in).  Returns 0 or -1. */
int	crypto_sha256(const void *in, size_t n, uint8_t out[SHA256_LEN]);

/* Compare n bytes in time independent of their contents.  1 if equal. */
int	crypto_equal(const void *a, const void *b, size_t n);

/* out = SHA-1(in) (WeChat's rawData signature).  Returns 0 or -1. */
int	crypto_sha1(const void *in, size_t n, uint8_t out[SHA1_LEN]);

/* out = HMAC-SHA256(key, msg).  Returns 0 or -1. */
int	crypto_hmac_sha256(const void *key, size_t klen, const void *msg,
	    size_t mlen, uint8_t out[SHA256_LEN]);

/*
 * Decrypt n bytes of AES-128-CBC with the 16-byte key and iv into out
 * (room for n bytes) and strip PKCS#7 padding, checking all of it: n must
 * be a non-zero multiple of 16, the pad length 1..16 and every pad byte
 * equal to it.  The padding is checked without branching on its bytes.
 * Sets *outlen.  Returns 0, or -1 for any failure (one answer for all, so
 * that the caller can give one response for all).
 */
int	crypto_aes128cbc_decrypt(const uint8_t key[AES_BLOCK],
	    const uint8_t iv[AES_BLOCK], const uint8_t *in, size_t n,
	    uint8_t *out, size_t *outlen);

/*
 * AES-256-GCM: seal n bytes of in into out (n bytes) and tag, with the
 * 12-byte iv and additional data aad (may be NULL when aadlen is 0).
 * Returns 0 or -1.
 */
int	crypto_gcm_seal(const uint8_t key[GCM_KEY_LEN],
	    const uint8_t iv[GCM_IV_LEN], const void *aad, size_t aadlen,
	    const uint8_t *in, size_t n, uint8_t *out,
	    uint8_t tag[GCM_TAG_LEN]);

/* The reverse; -1 also when the tag does not match (out is then zeroed). */
int	crypto_gcm_open(const uint8_t key[GCM_KEY_LEN],
	    const uint8_t iv[GCM_IV_LEN], const void *aad, size_t aadlen,
	    const uint8_t *in, size_t n, const uint8_t tag[GCM_TAG_LEN],
	    uint8_t *out);

#endif
