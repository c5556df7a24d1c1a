/*
 * test_crypto.c -- crypto_sha256, crypto_equal, crypto_random.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto.h"
#include "enc.h"

static const char *
sha_hex(const void *in, size_t n)
{
	static char	 hex[2 * SHA256_LEN + 1];
	uint8_t		 h[SHA256_LEN];

	if (crypto_sha256(in, n, h) != 0)
		return "(error)";
	hex_encode(h, sizeof(h), hex);
	return hex;
}

static void
test_sha256(void)
{
	static char	 million[1000000];

	/* FIPS 180-2 / NIST examples. */
	CHECK_STR(sha_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	CHECK_STR(sha_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	CHECK_STR(sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    56), "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
	memset(million, 'a', sizeof(million));
	CHECK_STR(sha_hex(million, sizeof(million)),
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* Only n bytes are hashed. */
	CHECK_STR(sha_hex("abcdef", 3), "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
}

static void
test_equal(void)
{
	uint8_t	 a[32], b[32];

	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	CHECK(crypto_equal(a, b, sizeof(a)) == 1);
	CHECK(crypto_equal(a, b, 0) == 1);
	b[0] ^= 1;
	CHECK(crypto_equal(a, b, sizeof(a)) == 0);
	b[0] ^= 1;
	b[31] ^= 0x80;
	CHECK(crypto_equal(a, b, sizeof(a)) == 0);
	/* The differing byte is outside the compared range. */
	CHECK(crypto_equal(a, b, 31) == 1);
	b[31] ^= 0x80;
	b[15] = 0;
	CHECK(crypto_equal(a, b, sizeof(a)) == 0);
	CHECK(crypto_equal("secret", "secreT", 6) == 0);
	CHECK(crypto_equal("secret", "secret", 6) == 1);
}

static int
all_zero(const uint8_t *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void
test_random(void)
{
	uint8_t	 a[64], b[64], big[300];
	uint8_t	 guard[80];
	size_t	 i;
	int	 ok;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	CHECK(crypto_random(a, sizeof(a)) == 0);
	CHECK(crypto_random(b, sizeof(b)) == 0);
	CHECK(!all_zero(a, sizeof(a)));
	CHECK(!all_zero(b, sizeof(b)));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	/* The second half gets filled too, not just the start. */
	CHECK(!all_zero(a + 32, 32) && !all_zero(b + 32, 32));
	/* n = 0 is fine. */
	CHECK(crypto_random(a, 0) == 0);
	/* A larger request is filled to its end. */
	memset(big, 0, sizeof(big));
	CHECK(crypto_random(big, sizeof(big)) == 0);
	CHECK(!all_zero(big + 256, sizeof(big) - 256));
	/* Writes exactly n bytes. */
	memset(guard, 0xee, sizeof(guard));
	CHECK(crypto_random(guard, 64) == 0);
	for (ok = 1, i = 64; i < sizeof(guard); i++)
		if (guard[i] != 0xee)
			ok = 0;
	CHECK(ok);
}

/*
 * crypto_unique: 4000 ids of 12 bytes, all different (sorted, neighbours
 * compared), none all zero, consecutive ones unlike a counter (more than
 * one byte differs); exactly n bytes written, 16 at most.
 */
static int
cmp12(const void *a, const void *b)
{
	return memcmp(a, b, 12);
}

static void
test_unique(void)
{
	static uint8_t	 ids[4000][12];
	uint8_t		 guard[24];
	size_t		 i, j, diff, dups = 0, counterlike = 0;

	for (i = 0; i < 4000; i++)
		crypto_unique(ids[i], 12);
	for (i = 1; i < 4000; i++) {
		for (diff = 0, j = 0; j < 12; j++)
			diff += ids[i][j] != ids[i - 1][j];
		if (diff <= 1)
			counterlike++;
	}
	CHECK(counterlike == 0);
	qsort(ids, 4000, 12, cmp12);
	for (i = 1; i < 4000; i++)
		if (memcmp(ids[i], ids[i - 1], 12) == 0)
			dups++;
	CHECK(dups == 0);
	CHECK(!all_zero(ids[0], 12) && !all_zero(ids[3999], 12));
	memset(guard, 0xee, sizeof(guard));
	crypto_unique(guard, 5);
	CHECK(guard[5] == 0xee && !all_zero(guard, 5));
	memset(guard, 0xee, sizeof(guard));
	crypto_unique(guard, sizeof(guard));
	for (diff = 0, i = 16; i < sizeof(guard); i++)
		diff += guard[i] != 0xee;
	CHECK(diff == 0);
}

/* Hex of a byte string. */
static const char *
hx(const uint8_t *b, size_t n)
{
	static char	 out[2 * 64 + 1];

	hex_encode(b, n, out);
	return out;
}

static size_t
unb64(const char *s, uint8_t *out, size_t outsz)
{
	size_t	 n = 0;

	if (b64_decode(s, strlen(s), out, outsz, &n) != 0)
		return (size_t)-1;
	return n;
}

/* WeChat's own examples (wechat-api.md): signature, HMAC, decryption. */
static void
test_wechat_vectors(void)
{
	static const char raw[] = "{\"nickName\":\"Band\",\"gender\":1,"
	    "\"language\":\"zh_CN\",\"city\":\"Guangzhou\",\"province\":"
	    "\"Guangdong\",\"country\":\"CN\",\"avatarUrl\":\"http://wx.qlogo."
	    "cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iusw"
	    "jjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0\"}HyVFkGl5F5OQWJZZaNzBBg==";
	static const char enc[] = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnx"
	    "IMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQ"
	    "z6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtp"
	    "yxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9"
	    "GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfR"
	    "K4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns"
	    "/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKla"
	    "Rv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/Xcxx"
	    "mK01EpqOyuxINew==";
	static const char plain[] = "{\"openId\":\"oGZUI0egBJY1zhBYw2KhdUfwVJJE\","
	    "\"nickName\":\"Band\",\"gender\":1,\"language\":\"zh_CN\",\"city\":"
	    "\"Guangzhou\",\"province\":\"Guangdong\",\"country\":\"CN\","
	    "\"avatarUrl\":\"http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0q"
	    "JVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ"
	    "/0\",\"unionId\":\"ocMvos6NjeKLIBqg5Mr9QjxrP1FA\",\"watermark\":"
	    "{\"timestamp\":1477314187,\"appid\":\"wx4f4bc4dec97d474b\"}}";
	uint8_t	 h[SHA256_LEN], key[16], iv[16], ct[1024], pt[1024];
	size_t	 kn, ivn, n, ptn = 0;
	static const char hk[] = "o0q0otL8aEzpcZL/FT9WsQ==";

	CHECK(crypto_sha1(raw, strlen(raw), h) == 0);
	CHECK_STR(hx(h, SHA1_LEN), "75e81ceda165f4ffa64f4068af58c64b8f54b88c");
	CHECK(crypto_hmac_sha256(hk, strlen(hk), "{\"foo\":\"bar\"}", 13, h) == 0);
	CHECK_STR(hx(h, SHA256_LEN),
	    "654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b");

	kn = unb64("tiihtNczf5v6AKRyjwEUhQ==", key, sizeof(key));
	ivn = unb64("r7BXXKkLb8qrSNn05n0qiA==", iv, sizeof(iv));
	n = unb64(enc, ct, sizeof(ct));
	CHECK(kn == 16 && ivn == 16 && n % 16 == 0 && n > 0);
	CHECK(crypto_aes128cbc_decrypt(key, iv, ct, n, pt, &ptn) == 0);
	CHECK(ptn == 393 && strlen(plain) == 393 && memcmp(pt, plain, 393) == 0);

	/* Wrong key, truncated, empty, not a block multiple, a flipped pad. */
	key[0] ^= 1;
	CHECK(crypto_aes128cbc_decrypt(key, iv, ct, n, pt, &ptn) == -1);
	key[0] ^= 1;
	CHECK(crypto_aes128cbc_decrypt(key, iv, ct, n - 16, pt, &ptn) == -1 ||
	    ptn < 393);
	CHECK(crypto_aes128cbc_decrypt(key, iv, ct, 0, pt, &ptn) == -1);
	CHECK(crypto_aes128cbc_decrypt(key, iv, ct, n - 1, pt, &ptn) == -1);
	ct[n - 17] ^= 0x01;	/* changes the last plaintext byte: the pad */
	CHECK(crypto_aes128cbc_decrypt(key, iv, ct, n, pt, &ptn) == -1);
	ct[n - 17] ^= 0x01;
	CHECK(crypto_aes128cbc_decrypt(key, iv, ct, n, pt, &ptn) == 0);
}

/* Hex text to bytes; returns the length. */
static size_t
unhex(const char *s, uint8_t *out)
{
	size_t	 n = 0;
	unsigned v;

	for (; s[0] != '\0' && s[1] != '\0'; s += 2) {
		if (sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
	}
	return n;
}

/*
 * NIST SP 800-38A, F.2.2 (CBC-AES128.Decrypt): the four blocks, followed
 * by the block a PKCS#7 encryption of that plaintext adds (a full block of
 * 0x10, chained from the last NIST block), since the function insists on
 * padding.  The first four ciphertext blocks are NIST's own.
 */
static void
test_cbc_nist(void)
{
	uint8_t	 key[16], iv[16], ct[80], pt[80], want[64];
	size_t	 n, ptn = 0;

	CHECK(unhex("2b7e151628aed2a6abf7158809cf4f3c", key) == 16);
	CHECK(unhex("000102030405060708090a0b0c0d0e0f", iv) == 16);
	n = unhex("7649abac8119b246cee98e9b12e9197d"
	    "5086cb9b507219ee95db113a917678b2"
	    "73bed6b8e3c1743b7116e69e22229516"
	    "3ff1caa1681fac09120eca307586e1a7"
	    "8cb82807230e1321d3fae00d18cc2012", ct);
	CHECK(n == 80);
	CHECK(unhex("6bc1bee22e409f96e93d7e117393172a"
	    "ae2d8a571e03ac9c9eb76fac45af8e51"
	    "30c81c46a35ce411e5fbc1191a0a52ef"
	    "f69f2445df4f9b17ad2b417be66c3710", want) == 64);
	CHECK(crypto_aes128cbc_decrypt(key, iv, ct, n, pt, &ptn) == 0);
	CHECK(ptn == 64 && memcmp(pt, want, 64) == 0);
	/* NIST's 64 bytes alone end in no valid padding: refused. */
	CHECK(crypto_aes128cbc_decrypt(key, iv, ct, 64, pt, &ptn) == -1);
	/* Blocks 2..5 with block 1 as the IV: CBC's chaining, checked. */
	CHECK(crypto_aes128cbc_decrypt(key, ct, ct + 16, 64, pt, &ptn) == 0);
	CHECK(ptn == 48 && memcmp(pt, want + 16, 48) == 0);
}

/* AES-256-GCM: the GCM specification's test case 14, then round trips. */
static void
test_gcm(void)
{
	uint8_t	 key[32] = { 0 }, iv[12] = { 0 }, pt[16] = { 0 };
	uint8_t	 ct[64], tag[16], back[64];
	const char	*msg = "HyVFkGl5F5OQWJZZaNzBBg==";
	size_t	 n = strlen(msg);

	CHECK(crypto_gcm_seal(key, iv, NULL, 0, pt, 16, ct, tag) == 0);
	CHECK_STR(hx(ct, 16), "cea7403d4d606b6e074ec5d3baf39d18");
	CHECK_STR(hx(tag, 16), "d0d1c8a799996bf0265b98b5d48ab919");

	key[5] = 7;
	iv[3] = 9;
	CHECK(crypto_gcm_seal(key, iv, "kid1", 4, (const uint8_t *)msg, n, ct,
	    tag) == 0);
	CHECK(memcmp(ct, msg, n) != 0);
	CHECK(crypto_gcm_open(key, iv, "kid1", 4, ct, n, tag, back) == 0 &&
	    memcmp(back, msg, n) == 0);
	CHECK(crypto_gcm_open(key, iv, "kid2", 4, ct, n, tag, back) == -1);
	ct[0] ^= 1;
	CHECK(crypto_gcm_open(key, iv, "kid1", 4, ct, n, tag, back) == -1);
	ct[0] ^= 1;
	tag[15] ^= 1;
	CHECK(crypto_gcm_open(key, iv, "kid1", 4, ct, n, tag, back) == -1);
	tag[15] ^= 1;
	key[0] ^= 1;
	CHECK(crypto_gcm_open(key, iv, "kid1", 4, ct, n, tag, back) == -1);
}

int
main(void)
{
	test_wechat_vectors();
	test_cbc_nist();
	test_gcm();
	test_sha256();
	test_equal();
	test_random();
	test_unique();
	return check_done("test_crypto");
}
