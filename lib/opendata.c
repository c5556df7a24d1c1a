/*
 * opendata.c -- decryption and signature checks of WeChat open data
 * (see opendata.h).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "enc.h"
#include "jsonx.h"
#include "opendata.h"

#define CT_MAX	(OPENDATA_B64_MAX / 4 * 3)

enum err
opendata_decrypt(const char *session_key, const char *enc, size_t enclen,
    const char *iv, size_t ivlen, const char *appid, json_object **out)
{
	uint8_t		 key[AES_BLOCK], ivb[AES_BLOCK];
	uint8_t		*ct = NULL, *pt = NULL;
	json_object	*obj = NULL, *wm;
	const char	*wa;
	size_t		 kn, ivn, ctn, ptn, wal;
	enum err	 er = ERR_DECRYPT_FAILED;

	*out = NULL;
	if (enclen == 0 || enclen > OPENDATA_B64_MAX)
		return ERR_DECRYPT_FAILED;
	if ((ct = malloc(CT_MAX)) == NULL || (pt = malloc(CT_MAX)) == NULL)
		abort();
	if (b64_decode(session_key, strlen(session_key), key, sizeof(key),
	    &kn) != 0 || kn != AES_BLOCK ||
	    b64_decode(iv, ivlen, ivb, sizeof(ivb), &ivn) != 0 ||
	    ivn != AES_BLOCK ||
	    b64_decode(enc, enclen, ct, CT_MAX, &ctn) != 0 ||
	    crypto_aes128cbc_decrypt(key, ivb, ct, ctn, pt, &ptn) != 0)
		goto out;
	obj = jsonx_parse((const char *)pt, ptn);
	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		goto out;
	er = ERR_INVALID_WATERMARK;
	if (!json_object_object_get_ex(obj, "watermark", &wm) ||
	    jsonx_str(wm, "appid", &wa, &wal) != 1 || wal != strlen(appid) ||
	    memcmp(wa, appid, wal) != 0)
		goto out;
	*out = obj;
	obj = NULL;
	er = ERR_OK;
out:
	json_object_put(obj);
	memset(key, 0, sizeof(key));
	memset(pt, 0, CT_MAX);
	free(ct);
	free(pt);
	return er;
}

enum err
opendata_check_signature(const char *raw, size_t rawlen,
    const char *session_key, const char *signature, size_t siglen)
{
	uint8_t	 h[SHA1_LEN];
	char	 want[2 * SHA1_LEN + 1], got[2 * SHA1_LEN + 1];
	char	*msg;
	size_t	 kl = strlen(session_key), i;
	int	 ok;

	if (siglen != 2 * SHA1_LEN)
		return ERR_INVALID_SIGNATURE;
	for (i = 0; i < siglen; i++) {
		char c = signature[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return ERR_INVALID_SIGNATURE;
		got[i] = c;
	}
	got[siglen] = '\0';
	if ((msg = malloc(rawlen + kl + 1)) == NULL)
		abort();
	memcpy(msg, raw, rawlen);
	memcpy(msg + rawlen, session_key, kl);
	ok = crypto_sha1(msg, rawlen + kl, h) == 0;
	memset(msg, 0, rawlen + kl);
	free(msg);
	if (!ok)
		return ERR_INVALID_SIGNATURE;
	hex_encode(h, sizeof(h), want);
	return crypto_equal(want, got, 2 * SHA1_LEN) ? ERR_OK :
	    ERR_INVALID_SIGNATURE;
}
