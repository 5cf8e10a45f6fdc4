/*
 * enroll_pass: the enrollment password (Wazuh's authd.pass), the first
 * line of enrollment_password_file, and the check of a request against
 * it.  The master and the workers check it the same way, so that a worker
 * refuses a wrong password itself instead of relaying it.
 */
#ifndef CLUSTERD_ENROLL_PASS_H
#define CLUSTERD_ENROLL_PASS_H

struct enroll_req;

struct enroll_pass {
	char	*password;	/* NULL: none configured; "": refuse all */
};

void		 enroll_pass_load(struct enroll_pass *, const char *file);
void		 enroll_pass_free(struct enroll_pass *);
int		 enroll_pass_equal(const char *given, const char *want);
const char	*enroll_pass_check(const struct enroll_pass *,
		    const struct enroll_req *);

#endif
