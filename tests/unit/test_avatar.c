/*
 * test_avatar.c -- avatar_sniff, avatar_id, avatar_id_valid,
 * avatar_find_file.
 */
#include <stdio.h>
#include <string.h>

#include "avatar.h"
#include "check.h"

static const char *
sniff(const char *s, size_t n)
{
	return avatar_sniff((const uint8_t *)s, n);
}

static void
test_sniff(void)
{
	CHECK_STR(sniff("\xff\xd8\xff\xe0rest", 8), "image/jpeg");
	CHECK_STR(sniff("\x89PNG\r\n\x1a\n....", 12), "image/png");
	CHECK_STR(sniff("GIF87a..", 8), "image/gif");
	CHECK_STR(sniff("GIF89a..", 8), "image/gif");
	CHECK_STR(sniff("RIFF\x10\0\0\0WEBPVP8 ", 16), "image/webp");
	/* Anything else, cut headers, and look-alikes. */
	CHECK(sniff("", 0) == NULL);
	CHECK(sniff("\xff\xd8", 2) == NULL);
	CHECK(sniff("\x89PNG\r\n\x1a", 7) == NULL);
	CHECK(sniff("\x89PNG\r\n\x1b\n", 8) == NULL);
	CHECK(sniff("GIF88a..", 8) == NULL);
	CHECK(sniff("RIFF\x10\0\0\0WAVEfmt ", 16) == NULL);
	CHECK(sniff("RIFF\x10\0\0\0WEB", 11) == NULL);
	CHECK(sniff("<svg xmlns=", 11) == NULL);
	CHECK(sniff("BM6\0\0\0", 6) == NULL);	/* BMP: not accepted */
}

static void
test_id(void)
{
	struct keyring	 a, b;
	char		 id1[AVATAR_ID_LEN + 1], id2[AVATAR_ID_LEN + 1];
	char		 id3[AVATAR_ID_LEN + 1], err[128];
	static const uint8_t img[] = "\x89PNG\r\n\x1a\nIHDR";

	/* base64 of 32 bytes each */
	CHECK(keyring_init(&a, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	    NULL, err, sizeof(err)) == 0);
	CHECK(keyring_init(&b, "HxAREhMUFRYXGBkaGxwdHh8AAQIDBAUGBwgJCgsMDQ4=",
	    NULL, err, sizeof(err)) == 0);
	CHECK(avatar_id(&a, img, sizeof(img) - 1, id1) == 0);
	CHECK(avatar_id(&a, img, sizeof(img) - 1, id2) == 0);
	CHECK(strlen(id1) == AVATAR_ID_LEN && avatar_id_valid(id1));
	CHECK_STR(id1, id2);			/* the same image, the same id */
	CHECK(avatar_id(&a, img, sizeof(img) - 2, id2) == 0);
	CHECK(strcmp(id1, id2) != 0);		/* another image */
	CHECK(avatar_id(&b, img, sizeof(img) - 1, id3) == 0);
	CHECK(strcmp(id1, id3) != 0);		/* keyed */
	keyring_wipe(&a);
	keyring_wipe(&b);

	CHECK(avatar_id_valid("0123456789abcdef0123456789abcdef"));
	CHECK(!avatar_id_valid("0123456789ABCDEF0123456789abcdef"));
	CHECK(!avatar_id_valid("0123456789abcdef0123456789abcde"));
	CHECK(!avatar_id_valid("0123456789abcdef0123456789abcdef0"));
	CHECK(!avatar_id_valid("0123456789abcdef0123456789abcdeg"));
	CHECK(!avatar_id_valid(""));
	CHECK(!avatar_id_valid("../../../../etc/passwd"));
}

static void
test_find(void)
{
	struct avatar_upload	 u;
	static const char	 ct[] = "multipart/form-data; boundary=zz";
	static const char	 one[] = "--zz\r\nContent-Disposition: form-data; "
	    "name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n"
	    "\r\nPNGDATA\r\n--zz\r\nContent-Disposition: form-data; "
	    "name=\"x\"\r\n\r\n1\r\n--zz--\r\n";
	static const char	 two[] = "--zz\r\nContent-Disposition: form-data; "
	    "name=\"file\"\r\n\r\nA\r\n--zz\r\nContent-Disposition: form-data; "
	    "name=\"file\"\r\n\r\nB\r\n--zz--";
	static const char	 none[] = "--zz\r\nContent-Disposition: form-data; "
	    "name=\"files\"\r\n\r\nA\r\n--zz--";

	CHECK(avatar_find_file(ct, (const uint8_t *)one, sizeof(one) - 1,
	    &u) == 0);
	CHECK(u.files == 1 && u.len == 7 && memcmp(u.data, "PNGDATA", 7) == 0);
	CHECK(avatar_find_file(ct, (const uint8_t *)two, sizeof(two) - 1,
	    &u) == 0);
	CHECK(u.files == 2 && u.len == 1 && u.data[0] == 'A');
	CHECK(avatar_find_file(ct, (const uint8_t *)none, sizeof(none) - 1,
	    &u) == 0);
	CHECK(u.files == 0 && u.data == NULL);
	CHECK(avatar_find_file("image/png", (const uint8_t *)one,
	    sizeof(one) - 1, &u) == -1);
	CHECK(avatar_find_file(NULL, (const uint8_t *)one, sizeof(one) - 1,
	    &u) == -1);
	CHECK(avatar_find_file(ct, (const uint8_t *)one, sizeof(one) - 10,
	    &u) == -1);
}

int
main(void)
{
	test_sniff();
	test_id();
	test_find();
	return check_done("test_avatar");
}
