/*
 * clusterkey: rules that refuse a guessable cluster key, the making of a
 * new key, and the reading of a key file.  See clusterkey.h.
 *
 * The rules, and why a generated key never trips them
 * ----------------------------------------------------
 * A key is refused when:
 *   1. it is the placeholder of the example configurations;
 *   2. it contains, in any case, one of the words of PLACEHOLDER_WORDS;
 *   3. it has fewer than MIN_DISTINCT (7) different characters;
 *   4. it is a block of at most half its length repeated (smallest period
 *      at most 16: "abab...", "0123456789abcdef0123456789abcdef");
 *   5. the same MAX_REPEAT + 1 (10) characters appear twice in it, at any
 *      two places, overlapping or not;
 *   6. MAX_RUN + 1 (12) characters in a row step by the same amount
 *      ("abcdefghijkl", "aaaaaaaaaaaa", "zyxwvutsrqpo", "acegikmoqsuw").
 *
 * A generated key is 16 random bytes in lower-case hex: 32 independent
 * characters, each uniform over 16.  Chances that such a key is refused,
 * rule by rule:
 *   1, 2: none.  Every listed string holds a letter outside 0-9 a-f.
 *   3: P(at most 6 different) = sum over k <= 6 of
 *      C(16,k) * Surj(32,k) / 16^32 = 1.84e-10 (exact count; 7 or fewer
 *      would be 3.5e-8, 9 or fewer 9.5e-5, so "fewer than 10" was not
 *      safe).
 *   5: for each pair of starts i < j (C(23,2) = 253 pairs), the 10
 *      characters at j equal those at i with chance 16^-10, even when the
 *      two overlap (each character at j is compared with an earlier one):
 *      at most 253 * 16^-10 = 2.3e-10.
 *   4: a period p <= 16 makes the 32 - p >= 16 characters at p equal those
 *      at 0, a case of rule 5: no more chance.
 *   6: for each of 21 starts, the 10 characters after the first two are
 *      each fixed by the two before them: at most 21 * 16^-10 = 1.9e-11.
 * In all, under 4.4e-10 (union bound).  clusterkey_generate() draws again
 * in that case, so what it prints always passes.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "base/clusterkey.h"

#define MIN_DISTINCT	7
#define MAX_REPEAT	9	/* longest block that may appear twice */
#define MAX_RUN		11	/* longest run of one constant step */

static const char *const PLACEHOLDERS[] = {
	"replace-this-with-32-random-char",
};

/* Each holds a letter outside 0-9 a-f: a hex key never contains one. */
static const char *const PLACEHOLDER_WORDS[] = {
	"replace", "change", "placeholder", "example", "password",
	"passw0rd", "secret", "default", "random", "qwerty", "clusterd",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static size_t
distinct_chars(const char *s, size_t n)
{
	unsigned char	seen[256] = { 0 };
	size_t		i, d = 0;

	for (i = 0; i < n; i++)
		if (!seen[(unsigned char)s[i]]++)
			d++;
	return d;
}

/* Smallest p in 1..n/2 with s[i] == s[i + p] everywhere; 0 if none. */
static size_t
short_period(const char *s, size_t n)
{
	size_t	p, i;

	for (p = 1; p <= n / 2; p++) {
		for (i = 0; i + p < n && s[i] == s[i + p]; i++)
			;
		if (i + p == n)
			return p;
	}
	return 0;
}

/* Length of the longest block found at two different places. */
static size_t
longest_repeat(const char *s, size_t n)
{
	size_t	i, j, k, best = 0;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			for (k = 0; j + k < n && s[i + k] == s[j + k]; k++)
				;
			if (k > best)
				best = k;
		}
	return best;
}

/* Longest run of characters each one the same step from the one before. */
static size_t
longest_run(const char *s, size_t n)
{
	size_t	i, run = n > 0 ? 1 : 0, best = run;

	for (i = 1; i < n; i++) {
		if (i >= 2 && s[i] - s[i - 1] == s[i - 1] - s[i - 2])
			run++;
		else
			run = 2;
		if (run > best)
			best = run;
	}
	return best;
}

/*
 * Is this key one an attacker would try early?  Returns 1 and a phrase
 * (completing "weak key: ") in why, or 0 when no rule above matches.
 */
int
clusterkey_weak(const char *key, char *why, size_t whylen)
{
	size_t	n = strlen(key), i, v;

	for (i = 0; i < NELEM(PLACEHOLDERS); i++)
		if (strcmp(key, PLACEHOLDERS[i]) == 0) {
			snprintf(why, whylen, "it is the placeholder of the "
			    "example configurations");
			return 1;
		}
	for (i = 0; i < NELEM(PLACEHOLDER_WORDS); i++)
		if (strcasestr(key, PLACEHOLDER_WORDS[i]) != NULL) {
			snprintf(why, whylen, "it contains the guessable word "
			    "\"%s\"", PLACEHOLDER_WORDS[i]);
			return 1;
		}
	if ((v = distinct_chars(key, n)) < MIN_DISTINCT) {
		snprintf(why, whylen, "it has only %zu different character%s "
		    "(at least %d are needed)", v, v == 1 ? "" : "s",
		    MIN_DISTINCT);
		return 1;
	}
	if ((v = short_period(key, n)) != 0) {
		snprintf(why, whylen, "it is a block of %zu characters "
		    "repeated", v);
		return 1;
	}
	if ((v = longest_repeat(key, n)) > MAX_REPEAT) {
		snprintf(why, whylen, "the same %zu characters appear twice in "
		    "it (at most %d may)", v, MAX_REPEAT);
		return 1;
	}
	if ((v = longest_run(key, n)) > MAX_RUN) {
		snprintf(why, whylen, "%zu characters in a row step by the same "
		    "amount, as in \"abcd\" or \"aaaa\" (at most %d may)", v,
		    MAX_RUN);
		return 1;
	}
	return 0;
}

/*
 * A new key: 16 random bytes as 32 lower-case hex digits, what `openssl
 * rand -hex 16` prints.  Drawn again in the rare case (under 4.4e-10) that
 * the rules would refuse it.  Returns 0, or -1 if the random generator
 * fails.
 */
int
clusterkey_generate(char out[CLUSTERKEY_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 b[CLUSTERKEY_LEN / 2];
	char			 why[128];
	size_t			 i;
	int			 tries, rv = -1;

	for (tries = 0; tries < 8; tries++) {
		if (RAND_bytes(b, sizeof(b)) != 1)
			goto done;
		for (i = 0; i < sizeof(b); i++) {
			out[2 * i] = hex[b[i] >> 4];
			out[2 * i + 1] = hex[b[i] & 0xf];
		}
		out[CLUSTERKEY_LEN] = '\0';
		if (!clusterkey_weak(out, why, sizeof(why))) {
			rv = 0;
			goto done;
		}
	}
done:
	OPENSSL_cleanse(b, sizeof(b));
	return rv;
}

/*
 * Read the first line of a key file into line (linesize must exceed
 * CLUSTERKEY_LINE_MAX), without its "\n" or "\r\n"; *lenp gets its length,
 * which may count NUL bytes.  The file must be a regular file that group
 * and others cannot access at all (mode & 077 == 0).  Nothing but a regular
 * file is ever opened, so a path naming a device or a FIFO neither blocks
 * nor wakes anything.  Returns 0, or -1 with err completing
 * 'key_file "PATH" '.
 */
int
clusterkey_read_file(const char *path, char *line, size_t linesize,
    size_t *lenp, char *err, size_t errlen)
{
	struct stat	 st, fst;
	ssize_t		 r;
	size_t		 n = 0;
	char		*nl;
	int		 fd = -1, rv = -1;

	if (linesize <= CLUSTERKEY_LINE_MAX) {
		snprintf(err, errlen, "cannot be read: buffer too small");
		goto done;
	}
	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "cannot be read: %s", strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "is not a regular file");
		goto done;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "has mode %04o; group and others must "
		    "have no access to it: chmod 600 %s",
		    (unsigned)(st.st_mode & 07777), path);
		goto done;
	}
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) ==
	    -1 || fstat(fd, &fst) == -1) {
		snprintf(err, errlen, "cannot be read: %s", strerror(errno));
		goto done;
	}
	if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino ||
	    fst.st_mode != st.st_mode) {
		snprintf(err, errlen, "changed while it was being opened");
		goto done;
	}
	while (n < CLUSTERKEY_LINE_MAX && memchr(line, '\n', n) == NULL) {
		r = read(fd, line + n, CLUSTERKEY_LINE_MAX - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "cannot be read: %s",
			    strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if ((nl = memchr(line, '\n', n)) != NULL)
		n = (size_t)(nl - line);
	else if (n == CLUSTERKEY_LINE_MAX) {
		snprintf(err, errlen, "has a first line of %d characters or "
		    "more", CLUSTERKEY_LINE_MAX);
		goto done;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	*lenp = n;
	rv = 0;
done:
	if (fd != -1)
		close(fd);
	return rv;
}

/*
 * A node's credential: HKDF-SHA256 of the cluster key, with the node's
 * name and generation as info, written as 32 lower-case hex characters so
 * it is a key of its own kind (key or key_file on that node).  Only the
 * master holds the cluster key: a node's credential gives no other node's,
 * and raising a generation makes every older credential of that name
 * useless.  A credential the weak-key rules would refuse (chance under
 * 4.4e-10, see above) is derived again with a counter in the info, so
 * every credential loads as a key.
 */
int
clusterkey_node_credential(const char *cluster_key, const char *node,
    unsigned generation, char out[CLUSTERKEY_LEN + 1])
{
	static const char	 salt[] = "clusterd node credential v1";
	static const char	 hex[] = "0123456789abcdef";
	EVP_PKEY_CTX		*pctx = NULL;
	unsigned char		 b[CLUSTERKEY_LEN / 2];
	char			 info[CLUSTERKEY_NODE_MAX + 32], why[160];
	size_t			 blen, i;
	unsigned		 round;
	int			 n, rv = -1;

	for (round = 0; round < 16; round++) {
		n = snprintf(info, sizeof(info), "%s%c%u%c%u", node, 0,
		    generation, 0, round);
		if (n < 0 || (size_t)n >= sizeof(info) ||
		    (pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) == NULL)
			goto done;
		blen = sizeof(b);
		if (EVP_PKEY_derive_init(pctx) <= 0 ||
		    EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) <= 0 ||
		    EVP_PKEY_CTX_set1_hkdf_salt(pctx,
		    (const unsigned char *)salt, sizeof(salt) - 1) <= 0 ||
		    EVP_PKEY_CTX_set1_hkdf_key(pctx,
		    (const unsigned char *)cluster_key,
		    (int)strlen(cluster_key)) <= 0 ||
		    EVP_PKEY_CTX_add1_hkdf_info(pctx,
		    (const unsigned char *)info, n) <= 0 ||
		    EVP_PKEY_derive(pctx, b, &blen) <= 0 || blen != sizeof(b))
			goto done;
		EVP_PKEY_CTX_free(pctx);
		pctx = NULL;
		for (i = 0; i < sizeof(b); i++) {
			out[2 * i] = hex[b[i] >> 4];
			out[2 * i + 1] = hex[b[i] & 15];
		}
		out[CLUSTERKEY_LEN] = '\0';
		if (!clusterkey_weak(out, why, sizeof(why))) {
			rv = 0;
			break;
		}
	}
done:
	EVP_PKEY_CTX_free(pctx);
	OPENSSL_cleanse(b, sizeof(b));
	if (rv == -1)
		OPENSSL_cleanse(out, CLUSTERKEY_LEN + 1);
	return rv;
}
