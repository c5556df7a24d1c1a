/*
 * test_opendata.c -- WeChat open data: the official decrypt vector, every
 * failure class giving the same outcome, watermarks, and rawData signatures.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/cipher.h>

#include "check.h"
#include "crypto.h"
#include "enc.h"
#include "jsonx.h"
#include "opendata.h"

#define APPID	"wx4f4bc4dec97d474b"
#define SKEY	"tiihtNczf5v6AKRyjwEUhQ=="
#define IV	"r7BXXKkLb8qrSNn05n0qiA=="

static const char official[] = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnx"
    "IMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQ"
    "z6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtp"
    "yxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9"
    "GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfR"
    "K4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns"
    "/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKla"
    "Rv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/Xcxx"
    "mK01EpqOyuxINew==";

/* Encrypt plain (pad: 1 PKCS#7, 0 none) with SKEY/IV; base64 into out. */
static void
seal(const char *plain, size_t n, int pad, char *out)
{
	mbedtls_cipher_context_t	 c;
	uint8_t				 key[16], iv[16], ct[1024];
	size_t				 kn, ivn, ctn = 0;

	b64_decode(SKEY, strlen(SKEY), key, 16, &kn);
	b64_decode(IV, strlen(IV), iv, 16, &ivn);
	mbedtls_cipher_init(&c);
	mbedtls_cipher_setup(&c,
	    mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_128_CBC));
	mbedtls_cipher_setkey(&c, key, 128, MBEDTLS_ENCRYPT);
	mbedtls_cipher_set_padding_mode(&c, pad ? MBEDTLS_PADDING_PKCS7 :
	    MBEDTLS_PADDING_NONE);
	mbedtls_cipher_crypt(&c, iv, 16, (const uint8_t *)plain, n, ct, &ctn);
	mbedtls_cipher_free(&c);
	b64_encode(ct, ctn, out);
}

/* Encrypt a string literal with PKCS#7 padding. */
#define SEAL(lit, out)	seal(lit, sizeof(lit) - 1, 1, out)

static enum err
dec(const char *enc, const char *iv, const char *appid, json_object **o)
{
	return opendata_decrypt(SKEY, enc, strlen(enc), iv, strlen(iv), appid, o);
}

static void
test_decrypt(void)
{
	json_object	*o = NULL;
	const char	*s;
	size_t		 n;
	char		 enc[2048], bad[2048];
	/* 16 bytes whose last byte (0x02) is a wrong pad: "...\x01\x02". */
	static const char badpad[] = "{\"a\":1}       \x01\x02";

	CHECK(dec(official, IV, APPID, &o) == ERR_OK && o != NULL);
	CHECK(jsonx_str(o, "nickName", &s, &n) == 1 && strcmp(s, "Band") == 0);
	CHECK(jsonx_str(o, "unionId", &s, &n) == 1 &&
	    strcmp(s, "ocMvos6NjeKLIBqg5Mr9QjxrP1FA") == 0);
	json_object_put(o);

	/* Another app's data, and data without a watermark. */
	CHECK(dec(official, IV, "wx0000000000000000", &o) ==
	    ERR_INVALID_WATERMARK && o == NULL);
	SEAL("{\"phoneNumber\":\"+8613800138000\"}", enc);
	CHECK(dec(enc, IV, APPID, &o) == ERR_INVALID_WATERMARK);
	SEAL("{\"watermark\":{\"appid\":\"" APPID "\"}}", enc);
	CHECK(dec(enc, IV, APPID, &o) == ERR_OK);
	json_object_put(o);
	SEAL("{\"watermark\":{\"appid\":1}}", enc);
	CHECK(dec(enc, IV, APPID, &o) == ERR_INVALID_WATERMARK);

	/* Every decryption failure: one outcome. */
	CHECK(dec("", IV, APPID, &o) == ERR_DECRYPT_FAILED);
	memcpy(bad, official, sizeof(official));
	bad[10] = ' ';			/* a '+' mangled into a space */
	CHECK(dec(bad, IV, APPID, &o) == ERR_DECRYPT_FAILED);
	CHECK(dec(official, "r7BXXKkLb8qrSNn05n0q", APPID, &o) ==
	    ERR_DECRYPT_FAILED);	/* IV of 15 bytes */
	CHECK(dec(official, "r7BXXKkLb8qrSNn05n0qiA", APPID, &o) ==
	    ERR_DECRYPT_FAILED);	/* unpadded base64 */
	CHECK(dec("Zm9vYmFy", IV, APPID, &o) == ERR_DECRYPT_FAILED);
	CHECK(sizeof(badpad) - 1 == 16);
	seal(badpad, 16, 0, enc);
	CHECK(dec(enc, IV, APPID, &o) == ERR_DECRYPT_FAILED);
	SEAL("not json at all", enc);
	CHECK(dec(enc, IV, APPID, &o) == ERR_DECRYPT_FAILED);
	SEAL("[1,2]", enc);
	CHECK(dec(enc, IV, APPID, &o) == ERR_DECRYPT_FAILED);
	SEAL("{\"a\":\"\xc0\x80\"}", enc);
	CHECK(dec(enc, IV, APPID, &o) == ERR_DECRYPT_FAILED);
	CHECK(opendata_decrypt("short", official, strlen(official), IV,
	    strlen(IV), APPID, &o) == ERR_DECRYPT_FAILED);
	CHECK(opendata_decrypt("HyVFkGl5F5OQWJZZaNzBBg==", official,
	    strlen(official), IV, strlen(IV), APPID, &o) == ERR_DECRYPT_FAILED);
	CHECK(o == NULL);
}

static void
test_signature(void)
{
	static const char raw[] = "{\"nickName\":\"Band\",\"gender\":1,"
	    "\"language\":\"zh_CN\",\"city\":\"Guangzhou\",\"province\":"
	    "\"Guangdong\",\"country\":\"CN\",\"avatarUrl\":\"http://wx.qlogo."
	    "cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iusw"
	    "jjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0\"}";
	static const char key[] = "HyVFkGl5F5OQWJZZaNzBBg==";
	static const char sig[] = "75e81ceda165f4ffa64f4068af58c64b8f54b88c";

	CHECK(opendata_check_signature(raw, strlen(raw), key, sig, 40) == ERR_OK);
	CHECK(opendata_check_signature(raw, strlen(raw), key,
	    "75E81CEDA165F4FFA64F4068AF58C64B8F54B88C", 40) == ERR_OK);
	CHECK(opendata_check_signature(raw, strlen(raw), key,
	    "75e81ceda165f4ffa64f4068af58c64b8f54b88d", 40) ==
	    ERR_INVALID_SIGNATURE);
	CHECK(opendata_check_signature(raw, strlen(raw) - 1, key, sig, 40) ==
	    ERR_INVALID_SIGNATURE);
	CHECK(opendata_check_signature(raw, strlen(raw), SKEY, sig, 40) ==
	    ERR_INVALID_SIGNATURE);
	CHECK(opendata_check_signature(raw, strlen(raw), key, sig, 39) ==
	    ERR_INVALID_SIGNATURE);
	CHECK(opendata_check_signature(raw, strlen(raw), key,
	    "75e81ceda165f4ffa64f4068af58c64b8f54b8zz", 40) ==
	    ERR_INVALID_SIGNATURE);
}

int
main(void)
{
	test_decrypt();
	test_signature();
	return check_done("test_opendata");
}
