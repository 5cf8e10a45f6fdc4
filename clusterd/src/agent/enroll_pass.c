#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "agent/enroll_parse.h"
#include "agent/enroll_pass.h"
#include "base/log.h"

#define TASK	"Agents"

/*
 * Read the password file's first line, trailing newline removed.  An
 * empty file name means no password; a file that cannot be read, or a
 * password under 3 characters, leaves "" so that every request is
 * refused rather than every request accepted.
 */
void
enroll_pass_load(struct enroll_pass *p, const char *file)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	FILE	*fp;

	enroll_pass_free(p);
	if (file[0] == '\0')
		return;
	if ((fp = fopen(file, "r")) == NULL) {
		log_err(TASK, "Cannot read the enrollment password file %s; "
		    "every enrollment will be refused", file);
		p->password = strdup("");
		return;
	}
	if ((n = getline(&line, &cap, fp)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
	}
	fclose(fp);
	if (line == NULL || strlen(line) < 3) {
		log_errx(TASK, "The enrollment password in %s is empty or too "
		    "short; every enrollment will be refused", file);
		free(line);
		line = strdup("");
	}
	p->password = line;
}

void
enroll_pass_free(struct enroll_pass *p)
{
	free(p->password);
	p->password = NULL;
}

/*
 * The enrollment password, compared in time that does not depend on where
 * the first difference is (CRYPTO_memcmp over the configured length), so
 * that timing tells nothing of how much of a guess was right.
 */
int
enroll_pass_equal(const char *given, const char *want)
{
	size_t	n = strlen(want);

	return strlen(given) == n && CRYPTO_memcmp(given, want, n) == 0;
}

/*
 * Check a request against the password, as Wazuh's authd does.  Returns
 * NULL when it may go on, or the answer for the agent: "ERROR: Invalid
 * password" (a password is configured and the request's is missing or
 * wrong, or the file could not be used), "ERROR: Invalid request for new
 * agent" (no password configured, yet the request carries one).
 */
const char *
enroll_pass_check(const struct enroll_pass *p, const struct enroll_req *req)
{
	if (p->password == NULL)
		return req->has_password ?
		    "ERROR: Invalid request for new agent" : NULL;
	if (!req->has_password || p->password[0] == '\0' ||
	    !enroll_pass_equal(req->password, p->password))
		return "ERROR: Invalid password";
	return NULL;
}
