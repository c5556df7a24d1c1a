/*
 * seal.c -- AES-256-GCM for secrets at rest (see seal.h).
 */
#include <stdio.h>
#include <string.h>

#include "enc.h"
#include "seal.h"

#define KID_LABEL	"wxauth data key"
#define KEY_B64_MAX	64	/* 32 bytes are 44 characters */

/* Decode one key's base64 text (n characters) into k and derive its id. */
static int
key_parse(const char *s, size_t n, struct seal_key *k)
{
	uint8_t	 raw[GCM_KEY_LEN + 3], h[SHA256_LEN];
	uint8_t	 msg[sizeof(KID_LABEL) - 1 + GCM_KEY_LEN];
	size_t	 len;
	int	 rc = -1;

	if (n == 0 || n > KEY_B64_MAX ||
	    b64_decode(s, n, raw, sizeof(raw), &len) != 0 ||
	    len != GCM_KEY_LEN)
		goto out;
	memcpy(msg, KID_LABEL, sizeof(KID_LABEL) - 1);
	memcpy(msg + sizeof(KID_LABEL) - 1, raw, GCM_KEY_LEN);
	if (crypto_sha256(msg, sizeof(msg), h) != 0)
		goto out;
	memcpy(k->k, raw, GCM_KEY_LEN);
	hex_encode(h, SEAL_KID_LEN / 2, k->id);
	rc = 0;
out:
	memset(raw, 0, sizeof(raw));
	memset(msg, 0, sizeof(msg));
	return rc;
}

int
keyring_init(struct keyring *kr, const char *cur, const char *old, char *err,
    size_t errsz)
{
	const char	*p, *e;
	size_t		 i;

	memset(kr, 0, sizeof(*kr));
	if (cur == NULL || key_parse(cur, strlen(cur), &kr->cur) == -1) {
		snprintf(err, errsz, "WXAUTH_DATA_KEY: must be 32 bytes as "
		    "standard base64 (44 characters; e.g. `openssl rand "
		    "-base64 32`)");
		goto fail;
	}
	for (p = old; p != NULL && *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if (e == p)
			continue;
		if (kr->nold == SEAL_OLD_MAX) {
			snprintf(err, errsz, "WXAUTH_DATA_KEYS_OLD: at most %d "
			    "keys", SEAL_OLD_MAX);
			goto fail;
		}
		if (key_parse(p, (size_t)(e - p), &kr->old[kr->nold]) == -1) {
			snprintf(err, errsz, "WXAUTH_DATA_KEYS_OLD: key %zu is "
			    "not 32 bytes as standard base64", kr->nold + 1);
			goto fail;
		}
		kr->nold++;
	}
	for (i = 0; i < kr->nold; i++)
		if (strcmp(kr->old[i].id, kr->cur.id) == 0) {
			snprintf(err, errsz, "WXAUTH_DATA_KEYS_OLD: lists the "
			    "current WXAUTH_DATA_KEY");
			goto fail;
		}
	return 0;
fail:
	keyring_wipe(kr);
	return -1;
}

void
keyring_wipe(struct keyring *kr)
{
	memset(kr, 0, sizeof(*kr));
}

int
seal(const struct keyring *kr, const char *aad, const void *in, size_t n,
    struct sealed *out)
{
	memset(out, 0, sizeof(*out));
	if (n > SEAL_PLAIN_MAX || crypto_random(out->b, GCM_IV_LEN) == -1)
		return -1;
	if (crypto_gcm_seal(kr->cur.k, out->b, aad, strlen(aad), in, n,
	    out->b + GCM_IV_LEN, out->b + GCM_IV_LEN + n) == -1) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->len = GCM_IV_LEN + n + GCM_TAG_LEN;
	memcpy(out->kid, kr->cur.id, sizeof(out->kid));
	return 0;
}

static const struct seal_key *
key_find(const struct keyring *kr, const char *id)
{
	size_t	 i;

	if (strcmp(kr->cur.id, id) == 0)
		return &kr->cur;
	for (i = 0; i < kr->nold; i++)
		if (strcmp(kr->old[i].id, id) == 0)
			return &kr->old[i];
	return NULL;
}

int
seal_open(const struct keyring *kr, const char *aad, const struct sealed *s,
    char *out, size_t outsz, size_t *outlen)
{
	const struct seal_key	*k;
	size_t			 n;

	*outlen = 0;
	if (s->len < GCM_IV_LEN + GCM_TAG_LEN || s->len > SEAL_MAX ||
	    (k = key_find(kr, s->kid)) == NULL)
		return -1;
	n = s->len - GCM_IV_LEN - GCM_TAG_LEN;
	if (n + 1 > outsz)
		return -1;
	if (crypto_gcm_open(k->k, s->b, aad, strlen(aad), s->b + GCM_IV_LEN,
	    n, s->b + GCM_IV_LEN + n, (uint8_t *)out) == -1) {
		memset(out, 0, outsz);
		return -1;
	}
	out[n] = '\0';
	*outlen = n;
	return 0;
}
