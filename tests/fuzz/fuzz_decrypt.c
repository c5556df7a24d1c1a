/*
 * fuzz_decrypt.c -- WeChat open data (lib/opendata.h): opendata_decrypt(),
 * the whole pipeline base64 -> AES-128-CBC -> PKCS#7 -> JSON -> watermark,
 * and opendata_check_signature().  The first byte chooses a mode:
 *
 *   0  any session_key, iv and encrypted data (NUL-separated, the data is
 *      the rest); outcomes only those documented, an object only on
 *      ERR_OK; the signature check of the same bytes agrees with SHA-1
 *      computed here.
 *   1  the rest is a plaintext, padded and encrypted here with mbedTLS
 *      under a fixed key: ERR_OK iff it is a JSON object whose
 *      watermark.appid is ours, ERR_INVALID_WATERMARK iff it is another
 *      object, ERR_DECRYPT_FAILED otherwise; and with the base64 mangled
 *      (a '+' as a space, padding dropped) or a short key: always
 *      ERR_DECRYPT_FAILED.
 *   2  the rest (whole blocks) is encrypted without padding: unless its
 *      last block happens to end in valid PKCS#7, ERR_DECRYPT_FAILED.
 *   3  the rest is rawData, signed here: the signature is accepted in
 *      either case, refused with one digit changed or cut short.
 */
#include <mbedtls/aes.h>
#include <mbedtls/base64.h>
#include <mbedtls/md.h>

#include "fuzz.h"
#include "jsonx.h"
#include "log.h"
#include "opendata.h"

#define APPID	"wx4f4bc4dec97d474b"

static const uint8_t	 key[16] = "wxauth-fuzz-key!";
static const uint8_t	 ivb[16] = "0123456789abcdef";
static char		 key64[32], iv64[32], short64[32];

static char *
b64(const uint8_t *in, size_t n, size_t *outlen)
{
	size_t	 cap = (n + 2) / 3 * 4 + 1;
	char	*s;

	if ((s = malloc(cap)) == NULL)
		abort();
	FUZZ_CHECK(mbedtls_base64_encode((unsigned char *)s, cap, outlen, in,
	    n) == 0);
	return s;
}

static void
cbc_encrypt(uint8_t *buf, size_t n)
{
	mbedtls_aes_context	 c;
	unsigned char		 iv[16];

	memcpy(iv, ivb, 16);
	mbedtls_aes_init(&c);
	FUZZ_CHECK(mbedtls_aes_setkey_enc(&c, key, 128) == 0);
	FUZZ_CHECK(mbedtls_aes_crypt_cbc(&c, MBEDTLS_AES_ENCRYPT, n, iv, buf,
	    buf) == 0);
	mbedtls_aes_free(&c);
}

/* What the decryption of plaintext p must give: the oracle. */
static enum err
expect(const uint8_t *p, size_t n)
{
	json_object	*o, *wm, *a;
	enum err	 er = ERR_DECRYPT_FAILED;

	if ((o = jsonx_parse((const char *)p, n)) == NULL)
		return ERR_DECRYPT_FAILED;
	if (json_object_is_type(o, json_type_object)) {
		er = ERR_INVALID_WATERMARK;
		if (json_object_object_get_ex(o, "watermark", &wm) &&
		    json_object_is_type(wm, json_type_object) &&
		    json_object_object_get_ex(wm, "appid", &a) &&
		    json_object_is_type(a, json_type_string) &&
		    json_object_get_string_len(a) == sizeof(APPID) - 1 &&
		    memcmp(json_object_get_string(a), APPID,
		    sizeof(APPID) - 1) == 0)
			er = ERR_OK;
	}
	json_object_put(o);
	return er;
}

/* Decrypt and check the outcome is a documented one. */
static enum err
decrypt(const char *sk, const char *enc, size_t enclen, const char *iv,
    size_t ivlen, json_object **out)
{
	char		*e = fuzz_dup(enc, enclen), *i = fuzz_dup(iv, ivlen);
	json_object	*wm;
	const char	*a;
	size_t		 al;
	enum err	 er;

	*out = (json_object *)out;
	er = opendata_decrypt(sk, e, enclen, i, ivlen, APPID, out);
	FUZZ_CHECK(er == ERR_OK || er == ERR_DECRYPT_FAILED ||
	    er == ERR_INVALID_WATERMARK);
	if (er == ERR_OK) {
		FUZZ_CHECK(*out != NULL &&
		    json_object_is_type(*out, json_type_object));
		FUZZ_CHECK(json_object_object_get_ex(*out, "watermark", &wm));
		FUZZ_CHECK(jsonx_str(wm, "appid", &a, &al) == 1 &&
		    al == sizeof(APPID) - 1 && memcmp(a, APPID, al) == 0);
	} else
		FUZZ_CHECK(*out == NULL);
	free(e);
	free(i);
	return er;
}

static void
sha1_hex(const void *a, size_t an, const char *b, char hex[41])
{
	const mbedtls_md_info_t	*md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
	mbedtls_md_context_t	 c;
	unsigned char		 h[20];
	size_t			 i;

	mbedtls_md_init(&c);
	FUZZ_CHECK(md != NULL && mbedtls_md_setup(&c, md, 0) == 0);
	FUZZ_CHECK(mbedtls_md_starts(&c) == 0);
	FUZZ_CHECK(mbedtls_md_update(&c, a, an) == 0);
	FUZZ_CHECK(mbedtls_md_update(&c, (const unsigned char *)b,
	    strlen(b)) == 0);
	FUZZ_CHECK(mbedtls_md_finish(&c, h) == 0);
	mbedtls_md_free(&c);
	for (i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

static enum err
check_sig(const char *raw, size_t rawlen, const char *sk, const char *sig,
    size_t siglen)
{
	char	*r = fuzz_dup(raw, rawlen), *s = fuzz_dup(sig, siglen);
	enum err er;

	er = opendata_check_signature(r, rawlen, sk, s, siglen);
	FUZZ_CHECK(er == ERR_OK || er == ERR_INVALID_SIGNATURE);
	free(r);
	free(s);
	return er;
}

static int
sig_matches(const char *want, const char *sig, size_t siglen)
{
	size_t	 i;
	char	 c;

	if (siglen != 40)
		return 0;
	for (i = 0; i < 40; i++) {
		c = sig[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (c != want[i])
			return 0;
	}
	return 1;
}

static void
mode_any(const uint8_t *p, size_t n)
{
	json_object	*out;
	char		*sk, *iv, *enc, want[41];
	size_t		 ivlen, enclen;

	sk = fuzz_part(&p, &n, NULL);
	iv = fuzz_part(&p, &n, &ivlen);
	enc = fuzz_dup(p, n);
	enclen = n;
	decrypt(sk, enc, enclen, iv, ivlen, &out);
	json_object_put(out);
	sha1_hex(enc, enclen, sk, want);
	FUZZ_CHECK((check_sig(enc, enclen, sk, iv, ivlen) == ERR_OK) ==
	    sig_matches(want, iv, ivlen));
	free(sk);
	free(iv);
	free(enc);
}

static void
mode_encrypt(unsigned sel, const uint8_t *p, size_t n)
{
	json_object	*out;
	uint8_t		*buf;
	char		*e, *sp;
	size_t		 padded = (n / 16 + 1) * 16, elen, i;
	enum err	 want, got;

	if ((buf = malloc(padded)) == NULL)
		abort();
	memcpy(buf, p, n);
	for (i = n; i < padded; i++)
		buf[i] = (uint8_t)(padded - n);
	cbc_encrypt(buf, padded);
	e = b64(buf, padded, &elen);
	want = elen > OPENDATA_B64_MAX ? ERR_DECRYPT_FAILED : expect(p, n);
	got = decrypt(key64, e, elen, iv64, strlen(iv64), &out);
	FUZZ_CHECK(got == want);
	if (got == ERR_OK) {
		/* What came out is what went in. */
		json_object	*o = jsonx_parse((const char *)p, n);
		size_t		 l1, l2;
		const char	*t1 = jsonx_text(o, &l1), *t2 = jsonx_text(out,
				    &l2);

		FUZZ_CHECK(l1 == l2 && memcmp(t1, t2, l1) == 0);
		json_object_put(o);
	}
	json_object_put(out);
	/* The same ciphertext with its base64 or its key spoilt. */
	if ((sel & 0x10) && (sp = memchr(e, '+', elen)) != NULL) {
		*sp = ' ';
		FUZZ_CHECK(decrypt(key64, e, elen, iv64, strlen(iv64), &out) ==
		    ERR_DECRYPT_FAILED);
		*sp = '+';
	}
	if ((sel & 0x20) && e[elen - 1] == '=')
		FUZZ_CHECK(decrypt(key64, e, elen - 1, iv64, strlen(iv64),
		    &out) == ERR_DECRYPT_FAILED);
	if (sel & 0x40)
		FUZZ_CHECK(decrypt(short64, e, elen, iv64, strlen(iv64),
		    &out) == ERR_DECRYPT_FAILED);
	if (sel & 0x80)
		FUZZ_CHECK(decrypt(key64, e, elen, iv64, strlen(iv64) - 1,
		    &out) == ERR_DECRYPT_FAILED);
	free(e);
	free(buf);
}

static void
mode_blocks(const uint8_t *p, size_t n)
{
	json_object	*out;
	uint8_t		*buf;
	char		*e;
	size_t		 len = n / 16 * 16, elen, pad, i;
	int		 padok;
	enum err	 want;

	if (len == 0)
		return;
	if ((buf = malloc(len)) == NULL)
		abort();
	memcpy(buf, p, len);
	pad = p[len - 1];
	padok = pad >= 1 && pad <= 16;
	for (i = 0; padok && i < pad; i++)
		if (p[len - 1 - i] != pad)
			padok = 0;
	cbc_encrypt(buf, len);
	e = b64(buf, len, &elen);
	want = elen > OPENDATA_B64_MAX || !padok ? ERR_DECRYPT_FAILED :
	    expect(p, len - pad);
	FUZZ_CHECK(decrypt(key64, e, elen, iv64, strlen(iv64), &out) == want);
	json_object_put(out);
	free(e);
	free(buf);
}

static void
mode_signature(unsigned sel, const uint8_t *p, size_t n)
{
	char	 sig[41];
	size_t	 i;

	sha1_hex(p, n, key64, sig);
	FUZZ_CHECK(check_sig((const char *)p, n, key64, sig, 40) == ERR_OK);
	for (i = 0; i < 40; i++)	/* either case */
		if ((sel >> (i % 6)) & 1 && sig[i] >= 'a')
			sig[i] = (char)(sig[i] - 'a' + 'A');
	FUZZ_CHECK(check_sig((const char *)p, n, key64, sig, 40) == ERR_OK);
	FUZZ_CHECK(check_sig((const char *)p, n, key64, sig, 39) ==
	    ERR_INVALID_SIGNATURE);
	i = (sel >> 2) % 40;
	sig[i] = sig[i] == '0' ? '1' : '0';
	FUZZ_CHECK(check_sig((const char *)p, n, key64, sig, 40) ==
	    ERR_INVALID_SIGNATURE);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t	 n;

	log_set_level(LOG_ERROR);
	FUZZ_CHECK(mbedtls_base64_encode((unsigned char *)key64, sizeof(key64),
	    &n, key, 16) == 0);
	FUZZ_CHECK(mbedtls_base64_encode((unsigned char *)iv64, sizeof(iv64),
	    &n, ivb, 16) == 0);
	FUZZ_CHECK(mbedtls_base64_encode((unsigned char *)short64,
	    sizeof(short64), &n, key, 15) == 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		mode_any(data + 1, size - 1);
		break;
	case 1:
		mode_encrypt(data[0], data + 1, size - 1);
		break;
	case 2:
		mode_blocks(data + 1, size - 1);
		break;
	default:
		mode_signature(data[0], data + 1, size - 1);
		break;
	}
	return 0;
}
