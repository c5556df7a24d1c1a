/*
 * seal.h -- secrets at rest: the values wxauth must keep in PostgreSQL but
 * that a dump of it must not reveal (each user's WeChat session_key, the
 * shared access_token).  AES-256-GCM under a server key.
 *
 * Policy:
 * - The key ring is the current key (WXAUTH_DATA_KEY, 32 bytes as base64)
 *   and up to SEAL_OLD_MAX old keys (WXAUTH_DATA_KEYS_OLD) that are used to
 *   open values, never to seal them.  A key's id is derived from the key
 *   (the first 4 bytes of SHA-256("wxauth data key" || key), in hex), so no
 *   id needs configuring and two different keys cannot share one.
 * - A sealed value is a fresh 12-byte random IV, the ciphertext and the
 *   16-byte tag; its key id is stored beside it.  The additional data binds
 *   a value to where it belongs (the column and the row's natural key:
 *   "users.session_key" and the openid), so a ciphertext copied to another
 *   row does not open.
 * - Rotation: put the new key in WXAUTH_DATA_KEY and the old one in
 *   WXAUTH_DATA_KEYS_OLD.  Every login re-seals that user's session_key and
 *   every token refresh re-seals the token under the new key; once the old
 *   sessions have expired the old key can be dropped.
 */
#ifndef WXAUTH_SEAL_H
#define WXAUTH_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define SEAL_OLD_MAX	8
#define SEAL_KID_LEN	8	/* hex characters */
#define SEAL_PLAIN_MAX	600	/* longest value sealed (access tokens: 512) */
#define SEAL_MAX	(GCM_IV_LEN + SEAL_PLAIN_MAX + GCM_TAG_LEN)

struct seal_key {
	uint8_t	 k[GCM_KEY_LEN];
	char	 id[SEAL_KID_LEN + 1];
};

struct keyring {
	struct seal_key	 cur;
	struct seal_key	 old[SEAL_OLD_MAX];
	size_t		 nold;
};

/* A sealed value as stored: the bytes and the id of the key that sealed it. */
struct sealed {
	uint8_t	 b[SEAL_MAX];
	size_t	 len;
	char	 kid[SEAL_KID_LEN + 1];
};

/*
 * Set up kr from the current key's base64 text and a comma-separated list
 * of old keys' (NULL or "" for none).  Returns 0, or -1 with a message for
 * the operator in err (which names no key material).
 */
int	keyring_init(struct keyring *kr, const char *cur, const char *old,
	    char *err, size_t errsz);

/* Wipe the keys. */
void	keyring_wipe(struct keyring *kr);

/*
 * Seal n bytes of in (n <= SEAL_PLAIN_MAX) under the current key, bound to
 * the additional data aad (e.g. "users.session_key:" and the openid).
 * Returns 0, or -1 (too long, or no randomness).
 */
int	seal(const struct keyring *kr, const char *aad, const void *in,
	    size_t n, struct sealed *out);

/*
 * Open s with the key its id names (current or old) and aad, into out
 * (outsz bytes; a NUL is added), setting *outlen.  Returns 0, or -1 when
 * the key is unknown, the value was tampered with or bound elsewhere, or
 * it does not fit.
 */
int	seal_open(const struct keyring *kr, const char *aad,
	    const struct sealed *s, char *out, size_t outsz, size_t *outlen);

#endif
