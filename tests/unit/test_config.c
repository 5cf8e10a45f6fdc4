/*
 * test_config: golden-file tests of the configuration parser.
 *
 * Every config/NAME.conf is parsed as "NAME.conf"; the result is compared
 * with config/NAME.out, which holds config_print()'s output for a valid file
 * or the exact error lines for an invalid one.  Adding a case is adding two
 * files: the directory is enumerated at run time, one cmocka test per case.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/config.h"

#include "helpers/fixture.h"

#define CASE_DIR	"config"
#define GOOD_KEY	"85482860b191589c071454938c1bd2e1"

/* Read a whole file; NULL if it cannot be opened.  *lenp gets its size. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*fp;
	char	*s = NULL;
	size_t	 len = 0;
	FILE	*mem;
	char	 chunk[4096];
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	if ((mem = open_memstream(&s, &len)) == NULL) {
		fclose(fp);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		fwrite(chunk, 1, n, mem);
	fclose(fp);
	fclose(mem);
	*lenp = len;
	return s;
}

static size_t
count_lines(const char *s, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < len; i++)
		if (s[i] == '\n')
			n++;
	return n;
}

/*
 * Check the parts of the error contract a golden file cannot express on
 * its own: one line per counted error, each naming the file.
 */
static void
check_error_lines(const char *file, const char *errs, size_t len, int nerr)
{
	const char	*p, *nl;
	size_t		 flen = strlen(file);

	assert_int_equal(count_lines(errs, len), (size_t)nerr);
	for (p = errs; p < errs + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(errs + len - p));
		assert_non_null(nl);
		if (strncmp(p, file, flen) != 0 || p[flen] != ':')
			fail_msg("error line does not start with \"%s:\": %.*s",
			    file, (int)(nl - p), p);
	}
}

/* Show both texts when a case differs: the diff is the whole point. */
static int
same_golden(const char *name, const char *want, size_t wlen,
    const char *got, size_t glen)
{
	if (wlen == glen && memcmp(want, got, wlen) == 0)
		return 1;
	print_error("%s: output differs from %s/%s.out\n"
	    "--- expected\n%.*s--- actual\n%.*s---\n", name, CASE_DIR,
	    name, (int)wlen, want, (int)glen, got);
	return 0;
}

static void
test_golden(void **state)
{
	const char	*name = *state;
	char		 conf[PATH_MAX], out[PATH_MAX], file[PATH_MAX];
	char		*want, *got = NULL, *errs = NULL;
	size_t		 wlen = 0, glen = 0, elen = 0;
	FILE		*in, *gotf, *errf;
	struct config	 cfg;
	int		 same;
	int		 n;

	snprintf(conf, sizeof(conf), "%s/%s.conf", CASE_DIR, name);
	snprintf(out, sizeof(out), "%s/%s.out", CASE_DIR, name);
	snprintf(file, sizeof(file), "%s.conf", name);

	if ((want = slurp(out, &wlen)) == NULL)
		fail_msg("%s: every case needs its expected output", out);
	in = fopen(conf, "r");
	assert_non_null(in);
	errf = open_memstream(&errs, &elen);
	gotf = open_memstream(&got, &glen);
	assert_non_null(errf);
	assert_non_null(gotf);

	n = config_parse(file, in, &cfg, errf);
	fclose(in);
	fclose(errf);
	assert_true(n >= 0);
	if (n == 0) {
		/* Valid: nothing on the error stream, the printout compared. */
		assert_int_equal(elen, 0);
		config_print(&cfg, gotf);
		fclose(gotf);
		same = same_golden(name, want, wlen, got, glen);
	} else {
		fclose(gotf);
		check_error_lines(file, errs, elen, n);
		same = same_golden(name, want, wlen, errs, elen);
	}
	free(want);
	free(got);
	free(errs);
	if (!same)
		fail();
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t	ls = strlen(s), lx = strlen(suffix);

	return ls > lx && strcmp(s + ls - lx, suffix) == 0;
}

/*
 * List the case names (file names without the suffix), sorted so the run
 * order and output are stable.
 */
static char **
list_cases(const char *suffix, size_t *np)
{
	DIR		*d;
	struct dirent	*de;
	char		**v = NULL, **nv;
	size_t		 n = 0;

	if ((d = opendir(CASE_DIR)) == NULL) {
		fprintf(stderr, "%s: %s (run from tests/unit)\n", CASE_DIR,
		    strerror(errno));
		exit(1);
	}
	while ((de = readdir(d)) != NULL) {
		if (!has_suffix(de->d_name, suffix))
			continue;
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL ||
		    (nv[n] = strndup(de->d_name, strlen(de->d_name) -
		    strlen(suffix))) == NULL) {
			perror("list_cases");
			exit(1);
		}
		v = nv;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_str);
	*np = n;
	return v;
}

static void
free_list(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* An .out without its .conf is a case that silently never runs. */
static void
test_no_orphan_outputs(void **state)
{
	static const char	*suffix[] = { ".out" };
	char			**confs, **outs;
	size_t			  nconf, nout, i, k;

	(void)state;
	confs = list_cases(".conf", &nconf);
	assert_true(nconf >= 20);
	for (k = 0; k < sizeof(suffix) / sizeof(suffix[0]); k++) {
		outs = list_cases(suffix[k], &nout);
		for (i = 0; i < nout; i++)
			if (bsearch(&outs[i], confs, nconf, sizeof(*confs),
			    cmp_str) == NULL)
				fail_msg("%s/%s%s has no .conf", CASE_DIR,
				    outs[i], suffix[k]);
		free_list(outs, nout);
	}
	free_list(confs, nconf);
}

/* A file that cannot be opened is one error, reported with its path. */
static void
test_load_missing_file(void **state)
{
	struct config	 cfg;
	char		*errs = NULL;
	size_t		 elen = 0;
	FILE		*errf;

	(void)state;
	errf = open_memstream(&errs, &elen);
	assert_non_null(errf);
	assert_int_equal(config_load(CASE_DIR "/does-not-exist.conf", &cfg,
	    errf), 1);
	fclose(errf);
	assert_string_equal(errs, CASE_DIR "/does-not-exist.conf: "
	    "No such file or directory\n");
	/* The caller still gets a usable default configuration. */
	assert_int_equal(cfg.port, CONFIG_DEFAULT_PORT);
	assert_string_equal(cfg.home, CONFIG_DEFAULT_HOME);
	free(errs);
}

/* config_load names errors after the path it was given. */
static void
test_load_reports_path(void **state)
{
	struct config	 cfg;
	char		*errs = NULL;
	size_t		 elen = 0;
	FILE		*errf;

	(void)state;
	errf = open_memstream(&errs, &elen);
	assert_non_null(errf);
	assert_int_equal(config_load(CASE_DIR "/unknown_option.conf", &cfg,
	    errf), 1);
	fclose(errf);
	assert_string_equal(errs, CASE_DIR "/unknown_option.conf:4: "
	    "unknown option \"node_nmae\"\n");
	free(errs);
}

/* Parsing without an error stream still counts the errors. */
static void
test_parse_null_errs(void **state)
{
	struct config	 cfg;
	FILE		*in;

	(void)state;
	in = fopen(CASE_DIR "/several_errors.conf", "r");
	assert_non_null(in);
	assert_int_equal(config_parse("x", in, &cfg, NULL), 10);
	fclose(in);
}

static void
test_valid_name(void **state)
{
	char	name[CONFIG_NAME_MAX + 2];

	(void)state;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_false(config_valid_name(name));		/* 64 */
	name[CONFIG_NAME_MAX] = '\0';
	assert_true(config_valid_name(name));		/* 63 */
	assert_true(config_valid_name("A-z_09"));
	assert_false(config_valid_name(""));
	assert_false(config_valid_name("a b"));
	assert_false(config_valid_name("a.b"));
	assert_false(config_valid_name("a/b"));
	assert_false(config_valid_name("\xc3\xa9t\xc3\xa9"));
}

static void
test_config_path(void **state)
{
	struct config	cfg;
	char		out[32];

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_path(&cfg, "run/x.sock", out, sizeof(out)),
	    0);
	assert_string_equal(out, CONFIG_DEFAULT_HOME "/run/x.sock");
	/* "/var/lib/clusterd/" is 18 bytes: 13 more fill 32 with the NUL. */
	assert_int_equal(config_path(&cfg, "1234567890123", out, sizeof(out)),
	    0);
	assert_int_equal(config_path(&cfg, "12345678901234", out, sizeof(out)),
	    -1);
}

/*
 * metrics_listen: off, a bare port on loopback, or a numeric address and
 * port (IPv6 in brackets); each refusal names the line and the value.
 */
static void
test_metrics_listen(void **state)
{
	static const struct {
		const char	*value;
		const char	*address;	/* NULL: refused */
		unsigned	 port;
	} cases[] = {
		{ "off", "", 0 },
		{ "9516", "127.0.0.1", 9516 },
		{ "0.0.0.0:1", "0.0.0.0", 1 },
		{ "192.0.2.7:65535", "192.0.2.7", 65535 },
		{ "[::1]:9516", "::1", 9516 },
		{ "[::]:80", "::", 80 },
		{ "[fe80::1%eth0]:9516", NULL, 0 },
		{ "0", NULL, 0 },
		{ "65536", NULL, 0 },
		{ "127.0.0.1:0", NULL, 0 },
		{ "127.0.0.1:", NULL, 0 },
		{ "127.0.0.1", NULL, 0 },
		{ ":9516", NULL, 0 },
		{ "::1:9516", NULL, 0 },
		{ "[::1]9516", NULL, 0 },
		{ "[::1]:", NULL, 0 },
		{ "[]:9516", NULL, 0 },
		{ "[127.0.0.1]:9516", NULL, 0 },
		{ "localhost:9516", NULL, 0 },
		{ "127.0.0.1:+80", NULL, 0 },
		{ "127.0.0.1:9516x", NULL, 0 },
		{ "127.0.0.1:009516", NULL, 0 },
		{ "on", NULL, 0 },
	};
	char		 conf[256], *errs = NULL, want[256];
	size_t		 elen = 0, i;
	struct config	 cfg;
	FILE		*in, *errf;
	int		 n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(conf, sizeof(conf), "node_name m1\nnode_type master\n"
		    "key %s\nmetrics_listen %s\n", GOOD_KEY, cases[i].value);
		assert_non_null(in = fmemopen(conf, strlen(conf), "r"));
		assert_non_null(errf = open_memstream(&errs, &elen));
		n = config_parse("m.conf", in, &cfg, errf);
		fclose(in);
		fclose(errf);
		if (cases[i].address == NULL) {
			snprintf(want, sizeof(want), "m.conf:4: metrics_listen "
			    "must be off, a port, or a numeric address and "
			    "port (127.0.0.1:9516, [::1]:9516), not \"%s\"\n",
			    cases[i].value);
			if (n != 1 || strcmp(errs, want) != 0)
				fail_msg("%s: %d error(s): %s", cases[i].value,
				    n, errs);
		} else if (n != 0 || strcmp(cfg.metrics_address,
		    cases[i].address) != 0 || cfg.metrics_port !=
		    cases[i].port)
			fail_msg("%s: %d error(s) %s, %s port %u",
			    cases[i].value, n, errs, cfg.metrics_address,
			    cfg.metrics_port);
		free(errs);
		errs = NULL;
	}
	/* Off by default. */
	config_defaults(&cfg);
	assert_int_equal(cfg.metrics_port, 0);
}

/*
 * Parse "node_name/node_type master/key_file DIR/key.file" with key.file
 * holding text at mode; *errs gets the error lines, *out the printout of a
 * valid result.  Key files need modes git cannot keep: hence not golden.
 */
static int
parse_with_key_file(const struct fx_homes *f, const char *text, mode_t mode,
    char **errs, char **out)
{
	char		 conf[512];
	size_t		 elen = 0, olen = 0;
	FILE		*in, *errf, *outf;
	struct config	 cfg;
	int		 n;

	fx_puts_mode(f->base, "key.file", text, mode);
	snprintf(conf, sizeof(conf), "node_name m1\nnode_type master\n"
	    "key_file %s/key.file\n", f->base);
	assert_non_null(in = fmemopen(conf, strlen(conf), "r"));
	assert_non_null(errf = open_memstream(errs, &elen));
	assert_non_null(outf = open_memstream(out, &olen));
	n = config_parse("k.conf", in, &cfg, errf);
	if (n == 0)
		config_print(&cfg, outf);
	fclose(in);
	fclose(errf);
	fclose(outf);
	return n;
}

/* A key file of mode 0600 gives the key; the printout names the file. */
static void
test_key_file_valid(void **state)
{
	struct fx_homes	*f = *state;
	char		*errs = NULL, *out = NULL, want[256];

	assert_int_equal(parse_with_key_file(f, GOOD_KEY "\n", 0600, &errs,
	    &out), 0);
	assert_string_equal(errs, "");
	snprintf(want, sizeof(want), "\nkey \"(32 characters)\"\n"
	    "key_file \"%s/key.file\"\n", f->base);
	if (strstr(out, want) == NULL)
		fail_msg("no %s in:\n%s", want, out);
	free(errs);
	free(out);
}

/* Mode, length and strength are each refused on key_file's line. */
static void
test_key_file_refusals(void **state)
{
	struct fx_homes	*f = *state;
	char		*errs = NULL, *out = NULL, want[512];

	assert_int_equal(parse_with_key_file(f, GOOD_KEY "\n", 0640, &errs,
	    &out), 1);
	snprintf(want, sizeof(want), "k.conf:3: key_file \"%s/key.file\" has "
	    "mode 0640; group and others must have no access to it: "
	    "chmod 600 %s/key.file\n", f->base, f->base);
	assert_string_equal(errs, want);
	free(errs);
	free(out);

	assert_int_equal(parse_with_key_file(f, "0123456789abcdef0123456789"
	    "abcdef\n", 0600, &errs, &out), 1);
	snprintf(want, sizeof(want), "k.conf:3: key_file \"%s/key.file\": weak "
	    "key: it is a block of 16 characters repeated; generate one with "
	    "\"clusterd --genkey > %s/key.file\"\n", f->base, f->base);
	assert_string_equal(errs, want);
	free(errs);
	free(out);

	assert_int_equal(parse_with_key_file(f, "short\n" GOOD_KEY "\n", 0600,
	    &errs, &out), 1);
	snprintf(want, sizeof(want), "k.conf:3: key_file \"%s/key.file\": key "
	    "must be exactly 32 characters, this one has 5\n", f->base);
	assert_string_equal(errs, want);
	free(errs);
	free(out);

	assert_int_equal(parse_with_key_file(f, "85482860b191589c 71454938c1bd"
	    "2e1\n", 0600, &errs, &out), 1);
	assert_non_null(strstr(errs, "key must be printable characters "
	    "without spaces"));
	free(errs);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_no_orphan_outputs),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_load_reports_path),
		cmocka_unit_test(test_parse_null_errs),
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test(test_config_path),
		cmocka_unit_test(test_metrics_listen),
		cmocka_unit_test_setup_teardown(test_key_file_valid,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_key_file_refusals,
		    fx_homes_setup, fx_homes_teardown),
	};
	struct CMUnitTest	*golden;
	char			**names;
	size_t			  n, i;
	int			  failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	names = list_cases(".conf", &n);
	if ((golden = calloc(n > 0 ? n : 1, sizeof(*golden))) == NULL) {
		perror("calloc");
		return 1;
	}
	for (i = 0; i < n; i++) {
		golden[i].name = names[i];
		golden[i].test_func = test_golden;
		golden[i].initial_state = names[i];
	}
	failed = cmocka_run_group_tests(fixed, NULL, NULL);
	failed += _cmocka_run_group_tests("config_golden", golden, n, NULL,
	    NULL);
	free(golden);
	free_list(names, n);
	return failed != 0;
}
