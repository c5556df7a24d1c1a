/*
 * test_seal.c -- the key ring and AES-256-GCM values at rest.
 */
#include <string.h>

#include "check.h"
#include "seal.h"

#define KEY0	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define KEY0_ID	"1615ce58"
#define KEY1	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY1_ID	"50d3dfcc"
#define SK	"tiihtNczf5v6AKRyjwEUhQ=="
#define AAD	"users.session_key:oGZUI0egBJY1zhBYw2KhdUfwVJJE"

static char	 err[256];

static void
test_ring(void)
{
	struct keyring	 kr;

	CHECK(keyring_init(&kr, KEY0, NULL, err, sizeof(err)) == 0);
	CHECK_STR(kr.cur.id, KEY0_ID);
	CHECK(kr.nold == 0);
	CHECK(keyring_init(&kr, KEY1, KEY0, err, sizeof(err)) == 0);
	CHECK_STR(kr.cur.id, KEY1_ID);
	CHECK(kr.nold == 1 && strcmp(kr.old[0].id, KEY0_ID) == 0);
	CHECK(kr.cur.k[1] == 1 && kr.cur.k[31] == 31);
	keyring_wipe(&kr);
	CHECK(kr.cur.k[31] == 0 && kr.cur.id[0] == '\0');
	CHECK(keyring_init(&kr, NULL, NULL, err, sizeof(err)) == -1);
	CHECK(keyring_init(&kr, "", NULL, err, sizeof(err)) == -1);
	CHECK(keyring_init(&kr, "AAAA", NULL, err, sizeof(err)) == -1);
	CHECK(keyring_init(&kr, KEY0 "AAAA", NULL, err, sizeof(err)) == -1);
	CHECK(keyring_init(&kr, KEY1, KEY0 "," KEY1, err, sizeof(err)) == -1);
	CHECK(keyring_init(&kr, KEY1, "x", err, sizeof(err)) == -1);
	CHECK(kr.nold == 0);	/* a failure leaves nothing */
	CHECK(keyring_init(&kr, KEY1, KEY0 "," KEY0 "," KEY0 "," KEY0 ","
	    KEY0 "," KEY0 "," KEY0 "," KEY0 "," KEY0, err, sizeof(err)) == -1);
	CHECK(strstr(err, "8") != NULL);
}

static void
test_seal_open(void)
{
	struct keyring	 kr, kr2, kr0;
	struct sealed	 s, t, bad;
	char		 out[SEAL_PLAIN_MAX + 1], big[SEAL_PLAIN_MAX + 1];
	size_t		 n, i;
	int		 ok;

	CHECK(keyring_init(&kr, KEY0, NULL, err, sizeof(err)) == 0);
	CHECK(seal(&kr, AAD, SK, strlen(SK), &s) == 0);
	CHECK(s.len == GCM_IV_LEN + strlen(SK) + GCM_TAG_LEN);
	CHECK_STR(s.kid, KEY0_ID);
	CHECK(memmem(s.b, s.len, SK, strlen(SK)) == NULL);
	CHECK(seal_open(&kr, AAD, &s, out, sizeof(out), &n) == 0);
	CHECK(n == strlen(SK));
	CHECK_STR(out, SK);
	/* A fresh IV each time: the same value never seals the same. */
	CHECK(seal(&kr, AAD, SK, strlen(SK), &t) == 0);
	CHECK(memcmp(s.b, t.b, GCM_IV_LEN) != 0);
	CHECK(memcmp(s.b + GCM_IV_LEN, t.b + GCM_IV_LEN, strlen(SK)) != 0);
	/* Bound to its place: another row's additional data does not open it. */
	CHECK(seal_open(&kr, "users.session_key:other", &s, out, sizeof(out),
	    &n) == -1);
	CHECK(out[0] == '\0' && n == 0);
	/* Every byte is covered: IV, ciphertext and tag. */
	for (ok = 1, i = 0; i < s.len; i++) {
		bad = s;
		bad.b[i] ^= 0x01;
		if (seal_open(&kr, AAD, &bad, out, sizeof(out), &n) != -1)
			ok = 0;
	}
	CHECK(ok);
	bad = s;
	bad.len--;
	CHECK(seal_open(&kr, AAD, &bad, out, sizeof(out), &n) == -1);
	bad.len = GCM_IV_LEN + GCM_TAG_LEN - 1;
	CHECK(seal_open(&kr, AAD, &bad, out, sizeof(out), &n) == -1);
	bad = s;
	bad.len = 0;
	CHECK(seal_open(&kr, AAD, &bad, out, sizeof(out), &n) == -1);
	/* Too small a buffer. */
	CHECK(seal_open(&kr, AAD, &s, out, strlen(SK), &n) == -1);
	/* An unknown key id, or another key under our id. */
	bad = s;
	memcpy(bad.kid, "00000000", 9);
	CHECK(seal_open(&kr, AAD, &bad, out, sizeof(out), &n) == -1);
	CHECK(keyring_init(&kr2, KEY1, NULL, err, sizeof(err)) == 0);
	CHECK(seal_open(&kr2, AAD, &s, out, sizeof(out), &n) == -1);
	bad = s;
	memcpy(bad.kid, KEY1_ID, 9);
	CHECK(seal_open(&kr2, AAD, &bad, out, sizeof(out), &n) == -1);
	/* Rotation: the old key still opens, new values use the new key. */
	CHECK(keyring_init(&kr2, KEY1, KEY0, err, sizeof(err)) == 0);
	CHECK(seal_open(&kr2, AAD, &s, out, sizeof(out), &n) == 0);
	CHECK_STR(out, SK);
	CHECK(seal(&kr2, AAD, SK, strlen(SK), &t) == 0);
	CHECK_STR(t.kid, KEY1_ID);
	CHECK(seal_open(&kr, AAD, &t, out, sizeof(out), &n) == -1);
	CHECK(keyring_init(&kr0, KEY0, KEY1, err, sizeof(err)) == 0);
	CHECK(seal_open(&kr0, AAD, &t, out, sizeof(out), &n) == 0);
	/* Limits: SEAL_PLAIN_MAX fits, one more does not; empty is fine. */
	memset(big, 'x', sizeof(big));
	CHECK(seal(&kr, AAD, big, SEAL_PLAIN_MAX, &t) == 0);
	CHECK(t.len == SEAL_MAX);
	CHECK(seal_open(&kr, AAD, &t, out, sizeof(out), &n) == 0 &&
	    n == SEAL_PLAIN_MAX);
	CHECK(seal(&kr, AAD, big, SEAL_PLAIN_MAX + 1, &t) == -1);
	CHECK(t.len == 0);
	CHECK(seal(&kr, AAD, "", 0, &t) == 0);
	CHECK(seal_open(&kr, AAD, &t, out, sizeof(out), &n) == 0 && n == 0);
}

int
main(void)
{
	test_ring();
	test_seal_open();
	return check_done("test_seal");
}
