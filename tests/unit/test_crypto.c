/*
 * test_crypto.c -- crypto_sha256, crypto_equal, crypto_random.
 */
#include <stdint.h>
#include <stdio.h>
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

int
main(void)
{
	test_sha256();
	test_equal();
	test_random();
	return check_done("test_crypto");
}
