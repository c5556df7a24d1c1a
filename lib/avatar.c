/*
 * avatar.c -- avatar images: content sniffing and ids (avatar.h).
 */
#include <string.h>

#include "avatar.h"
#include "crypto.h"
#include "enc.h"

const char *
avatar_sniff(const uint8_t *p, size_t n)
{
	if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return "image/jpeg";
	if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 ||
	    memcmp(p, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(p, "RIFF", 4) == 0 &&
	    memcmp(p + 8, "WEBP", 4) == 0)
		return "image/webp";
	return NULL;
}

int
avatar_id(const struct keyring *keys, const uint8_t *p, size_t n,
    char id[AVATAR_ID_LEN + 1])
{
	static const char	 label[] = "wxauth avatar id";
	uint8_t			 k[SHA256_LEN], mac[SHA256_LEN];
	int			 rc;

	/* A key of its own, so that the data key itself signs nothing. */
	if (crypto_hmac_sha256(keys->cur.k, sizeof(keys->cur.k), label,
	    sizeof(label) - 1, k) == -1)
		return -1;
	rc = crypto_hmac_sha256(k, sizeof(k), p, n, mac);
	memset(k, 0, sizeof(k));
	if (rc == -1)
		return -1;
	hex_encode(mac, AVATAR_ID_LEN / 2, id);
	id[AVATAR_ID_LEN] = '\0';
	return 0;
}

int
avatar_id_valid(const char *s)
{
	size_t	 i;

	for (i = 0; i < AVATAR_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return s[AVATAR_ID_LEN] == '\0';
}

static int
on_part(const struct mp_part *p, void *arg)
{
	struct avatar_upload	*u = arg;

	if (p->name != NULL && p->name_len == 4 &&
	    memcmp(p->name, "file", 4) == 0) {
		if (u->files++ == 0) {
			u->data = p->data;
			u->len = p->len;
		}
	}
	return 0;
}

int
avatar_find_file(const char *ct, const uint8_t *body, size_t len,
    struct avatar_upload *out)
{
	char	 b[MP_BOUNDARY_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (multipart_boundary(ct, b) == -1)
		return -1;
	return multipart_each(body, len, b, on_part, out) == 0 ? 0 : -1;
}
