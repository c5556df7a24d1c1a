/*
 * crypto.c -- CSPRNG, hashing and constant-time comparison (see crypto.h).
 */
#include <sys/random.h>

#include <errno.h>

#include <string.h>

#include <pthread.h>

#include <mbedtls/aes.h>
#include <mbedtls/cipher.h>
#include <mbedtls/gcm.h>
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

static mbedtls_aes_context	 unique_aes;	/* read only once made */
static pthread_once_t		 unique_once = PTHREAD_ONCE_INIT;
static uint64_t			 unique_ctr;	/* atomic */

static void
unique_init(void)
{
	unsigned char	 key[16];

	/* Without the kernel's randomness the ids are still unique. */
	if (crypto_random(key, sizeof(key)) == -1)
		memset(key, 0, sizeof(key));
	mbedtls_aes_init(&unique_aes);
	(void)mbedtls_aes_setkey_enc(&unique_aes, key, 128);
	memset(key, 0, sizeof(key));
}

void
crypto_unique(void *buf, size_t n)
{
	unsigned char	 in[AES_BLOCK], out[AES_BLOCK];
	uint64_t	 v;

	pthread_once(&unique_once, unique_init);
	v = __atomic_fetch_add(&unique_ctr, 1, __ATOMIC_RELAXED);
	memset(in, 0, sizeof(in));
	memcpy(in, &v, sizeof(v));
	(void)mbedtls_aes_crypt_ecb(&unique_aes, MBEDTLS_AES_ENCRYPT, in, out);
	memcpy(buf, out, n < sizeof(out) ? n : sizeof(out));
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

int
crypto_sha1(const void *in, size_t n, uint8_t out[SHA1_LEN])
{
	const mbedtls_md_info_t	*md;

	if ((md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1)) == NULL)
		return -1;
	return mbedtls_md(md, in, n, out) == 0 ? 0 : -1;
}

int
crypto_hmac_sha256(const void *key, size_t klen, const void *msg,
    size_t mlen, uint8_t out[SHA256_LEN])
{
	const mbedtls_md_info_t	*md;

	if ((md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256)) == NULL)
		return -1;
	return mbedtls_md_hmac(md, key, klen, msg, mlen, out) == 0 ? 0 : -1;
}

int
crypto_aes128cbc_decrypt(const uint8_t key[AES_BLOCK],
    const uint8_t iv[AES_BLOCK], const uint8_t *in, size_t n, uint8_t *out,
    size_t *outlen)
{
	mbedtls_cipher_context_t	 ctx;
	const mbedtls_cipher_info_t	*ci;
	size_t				 olen = 0, i;
	unsigned			 pad, bad = 0, inpad;
	int				 rc = -1;

	if (n == 0 || n % AES_BLOCK != 0)
		return -1;
	if ((ci = mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_128_CBC)) ==
	    NULL)
		return -1;
	mbedtls_cipher_init(&ctx);
	if (mbedtls_cipher_setup(&ctx, ci) != 0 ||
	    mbedtls_cipher_setkey(&ctx, key, 128, MBEDTLS_DECRYPT) != 0 ||
	    mbedtls_cipher_set_padding_mode(&ctx, MBEDTLS_PADDING_NONE) != 0 ||
	    mbedtls_cipher_crypt(&ctx, iv, AES_BLOCK, in, n, out, &olen) != 0 ||
	    olen != n)
		goto out;
	/*
	 * PKCS#7, whole: pad in 1..16 and the last pad bytes all equal to it.
	 * Every one of the last 16 bytes is looked at, whatever pad is.
	 */
	pad = out[n - 1];
	bad |= (unsigned)(pad == 0) | (unsigned)(pad > AES_BLOCK);
	for (i = 1; i <= AES_BLOCK; i++) {
		inpad = (unsigned)(i <= pad);
		bad |= inpad & (unsigned)(out[n - i] != pad);
	}
	if (bad == 0) {
		*outlen = n - pad;
		rc = 0;
	}
out:
	mbedtls_cipher_free(&ctx);
	if (rc != 0)
		memset(out, 0, n);
	return rc;
}

int
crypto_gcm_seal(const uint8_t key[GCM_KEY_LEN], const uint8_t iv[GCM_IV_LEN],
    const void *aad, size_t aadlen, const uint8_t *in, size_t n,
    uint8_t *out, uint8_t tag[GCM_TAG_LEN])
{
	mbedtls_gcm_context	 g;
	int			 rc;

	mbedtls_gcm_init(&g);
	rc = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256) == 0 &&
	    mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, n, iv,
	    GCM_IV_LEN, aad, aadlen, in, out, GCM_TAG_LEN, tag) == 0 ? 0 : -1;
	mbedtls_gcm_free(&g);
	return rc;
}

int
crypto_gcm_open(const uint8_t key[GCM_KEY_LEN], const uint8_t iv[GCM_IV_LEN],
    const void *aad, size_t aadlen, const uint8_t *in, size_t n,
    const uint8_t tag[GCM_TAG_LEN], uint8_t *out)
{
	mbedtls_gcm_context	 g;
	int			 rc;

	mbedtls_gcm_init(&g);
	rc = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256) == 0 &&
	    mbedtls_gcm_auth_decrypt(&g, n, iv, GCM_IV_LEN, aad, aadlen, tag,
	    GCM_TAG_LEN, in, out) == 0 ? 0 : -1;
	mbedtls_gcm_free(&g);
	if (rc != 0 && n > 0)
		memset(out, 0, n);
	return rc;
}
