/*
 * test_keepalive: the agents' keepalive text (what follows "#!-"), field
 * by field, against the manager-side rules of Wazuh 4.x
 * (src/shared/remoted_op.c: parse_agent_update_msg, parse_uname_string):
 * uname forms of Linux, SUSE, macOS and Windows agents, labels, missing
 * parts, line ends, truncation of long fields and architecture detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "agent/keepalive.h"

#define CSUM	"ab73af41699f13fdd81903b5f23d8d00"
#define MSUM	"d6e3ac3e75ca0319af3e7c262776f331"
#define TAIL	MSUM " merged.mg\n#\"_agent_ip\":10.0.2.15\n"

#define UBUNTU_UNAME "Linux |web-01 |5.15.0-91-generic |#101-Ubuntu SMP " \
	"Tue Nov 14 13:30:08 UTC 2023 |x86_64"

/*
 * The struct sits between guard bytes: a field written past its end would
 * show there (or as a field longer than its array, checked by fields_ok).
 */
static struct {
	char			pre[64];
	struct keepalive	k;
	char			post[64];
} G;

/* Owned here so that a failing assertion leaks nothing (see teardown). */
static cJSON	*json;

/* keepalive_json of G.k, owned by json until the next call. */
static cJSON *
to_json(void)
{
	cJSON_Delete(json);
	json = keepalive_json(&G.k);
	assert_non_null(json);
	return json;
}

static int
teardown(void **state)
{
	(void)state;
	keepalive_free(&G.k);
	cJSON_Delete(json);
	json = NULL;
	return 0;
}

static void
guards_set(void)
{
	memset(G.pre, 0x5a, sizeof(G.pre));
	memset(G.post, 0x5a, sizeof(G.post));
}

static void
fields_ok(const struct keepalive *k)
{
	size_t	i;

#define FIELD_OK(f) assert_true(strnlen(k->f, sizeof(k->f)) < sizeof(k->f))
	FIELD_OK(os_uname);
	FIELD_OK(os_name);
	FIELD_OK(os_platform);
	FIELD_OK(os_version);
	FIELD_OK(os_codename);
	FIELD_OK(os_major);
	FIELD_OK(os_minor);
	FIELD_OK(os_build);
	FIELD_OK(os_arch);
	FIELD_OK(version);
	FIELD_OK(config_sum);
	FIELD_OK(merged_sum);
	FIELD_OK(agent_ip);
#undef FIELD_OK
	for (i = 0; i < sizeof(G.pre); i++) {
		assert_int_equal((unsigned char)G.pre[i], 0x5a);
		assert_int_equal((unsigned char)G.post[i], 0x5a);
	}
}

/* Parse text into G.k; returns keepalive_parse's result. */
static int
parse(const char *text)
{
	int	r;

	keepalive_free(&G.k);
	guards_set();
	r = keepalive_parse(text, &G.k);
	fields_ok(&G.k);
	return r;
}

static void
teardown_k(void)
{
	keepalive_free(&G.k);
	assert_null(G.k.labels);
}

static const char *
label(const char *key)
{
	const cJSON	*v;

	if (G.k.labels == NULL)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(G.k.labels, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
nlabels(void)
{
	return G.k.labels == NULL ? 0 : cJSON_GetArraySize(G.k.labels);
}

/* An Ubuntu agent: platform, a version with a point release and LTS, a
 * two-word codename. */
static void
test_linux_ubuntu(void **state)
{
	(void)state;
	assert_int_equal(parse(UBUNTU_UNAME " [Ubuntu|ubuntu: 22.04.3 LTS "
	    "(Jammy Jellyfish)] - Wazuh v4.14.7 / " CSUM "\n" TAIL), 0);
	assert_string_equal(G.k.os_uname, UBUNTU_UNAME);
	assert_string_equal(G.k.os_name, "Ubuntu");
	assert_string_equal(G.k.os_platform, "ubuntu");
	assert_string_equal(G.k.os_version, "22.04.3 LTS");
	assert_string_equal(G.k.os_codename, "Jammy Jellyfish");
	assert_string_equal(G.k.os_major, "22");
	assert_string_equal(G.k.os_minor, "04");
	assert_string_equal(G.k.os_build, "");
	assert_string_equal(G.k.os_arch, "x86_64");
	assert_string_equal(G.k.version, "Wazuh v4.14.7");
	assert_string_equal(G.k.config_sum, CSUM);
	assert_string_equal(G.k.merged_sum, MSUM);
	assert_string_equal(G.k.agent_ip, "10.0.2.15");
	assert_int_equal(nlabels(), 0);
	teardown_k();
}

/* Control bytes an agent sends in its fields are stored as '?'. */
static void
test_control_bytes(void **state)
{
	(void)state;
	assert_int_equal(parse("Linux |h\x1b]0;x\x07 |5.10 |#1 |x86_64 "
	    "[Debian GNU/Linux|debian: 12 (bookworm)] - Wazuh v4\x1b[2J / "
	    CSUM "\n\"env\":a\x1b[31mb\n" TAIL), 0);
	assert_string_equal(G.k.version, "Wazuh v4?[2J");
	assert_null(strchr(G.k.os_uname, 0x1b));
	assert_null(strchr(G.k.os_uname, 0x07));
	assert_string_equal(label("env"), "a?[31mb");
	teardown_k();
}

/* A version with no minor ("12") and a one-word codename. */
static void
test_linux_debian_no_minor(void **state)
{
	(void)state;
	assert_int_equal(parse("Linux |db |6.1.0-18-amd64 |#1 SMP "
	    "PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01) |x86_64 "
	    "[Debian GNU/Linux|debian: 12 (bookworm)] - Wazuh v4.14.7 / "
	    CSUM "\n" TAIL), 0);
	assert_string_equal(G.k.os_name, "Debian GNU/Linux");
	assert_string_equal(G.k.os_platform, "debian");
	assert_string_equal(G.k.os_version, "12");
	assert_string_equal(G.k.os_codename, "bookworm");
	assert_string_equal(G.k.os_major, "12");
	assert_string_equal(G.k.os_minor, "");
	/* "amd64" is in the kernel release, but x86_64 comes first. */
	assert_string_equal(G.k.os_arch, "x86_64");
	teardown_k();
}

/* A bracket without a platform, nor a codename. */
static void
test_linux_no_platform(void **state)
{
	(void)state;
	assert_int_equal(parse("Linux |c7 |3.10.0 |#1 SMP |x86_64 "
	    "[CentOS Linux: 7.9.2009] - Wazuh v4.14.7 / " CSUM "\n"), 0);
	assert_string_equal(G.k.os_name, "CentOS Linux");
	assert_string_equal(G.k.os_platform, "");
	assert_string_equal(G.k.os_version, "7.9.2009");
	assert_string_equal(G.k.os_codename, "");
	assert_string_equal(G.k.os_major, "7");
	assert_string_equal(G.k.os_minor, "9");
	teardown_k();
}

/*
 * SUSE's service packs: "15-SP7".  keepalive.c's version_parts() documents
 * the minor as the service pack number (Wazuh's own regex would leave
 * os_minor empty here: a deliberate difference, kept by this test).
 */
static void
test_suse_service_pack(void **state)
{
	(void)state;
	assert_int_equal(parse("Linux |sles |6.4.0-150700.51-default |#1 SMP "
	    "PREEMPT_DYNAMIC |x86_64 [SLES|sles: 15-SP7] - Wazuh v4.14.7 / "
	    CSUM "\n" TAIL), 0);
	assert_string_equal(G.k.os_name, "SLES");
	assert_string_equal(G.k.os_platform, "sles");
	assert_string_equal(G.k.os_version, "15-SP7");
	assert_string_equal(G.k.os_codename, "");
	assert_string_equal(G.k.os_major, "15");
	assert_string_equal(G.k.os_minor, "7");
	teardown_k();
}

/* macOS: a kernel string with ": " in it, arm64 hardware. */
static void
test_macos(void **state)
{
	static const char uname[] = "Darwin |mac-07.local |23.4.0 |Darwin "
	    "Kernel Version 23.4.0: Fri Mar 15 00:11:08 PDT 2024; "
	    "root:xnu-10063.101.17~1/RELEASE_ARM64_T8122 |arm64";
	char	text[1024];

	(void)state;
	snprintf(text, sizeof(text), "%s [macOS|darwin: 14.4.1 (Sonoma)] - "
	    "Wazuh v4.14.7 / " CSUM "\n" TAIL, uname);
	assert_int_equal(parse(text), 0);
	assert_string_equal(G.k.os_uname, uname);
	assert_string_equal(G.k.os_name, "macOS");
	assert_string_equal(G.k.os_platform, "darwin");
	assert_string_equal(G.k.os_version, "14.4.1");
	assert_string_equal(G.k.os_codename, "Sonoma");
	assert_string_equal(G.k.os_major, "14");
	assert_string_equal(G.k.os_minor, "4");
	assert_string_equal(G.k.os_arch, "arm64");
	teardown_k();
}

/*
 * Windows: " [Ver: major.minor.build.revision]".  Wazuh 4.x takes the
 * build as everything from the third number on (regex
 * ^[0-9]+\.[0-9]+\.([0-9]+(\.[0-9]+)*)), so "19045.3570": the Wazuh API
 * shows a 4.7 agent's build as "19045.4529".  No architecture for Windows.
 */
static void
test_windows_build(void **state)
{
	(void)state;
	assert_int_equal(parse("Microsoft Windows 10 Pro [Ver: "
	    "10.0.19045.3570] - Wazuh v4.14.7 / " CSUM "\n"
	    MSUM " merged.mg\n#\"_agent_ip\":192.0.2.7\n"), 0);
	assert_string_equal(G.k.os_uname, "Microsoft Windows 10 Pro");
	assert_string_equal(G.k.os_name, "Microsoft Windows 10 Pro");
	assert_string_equal(G.k.os_platform, "windows");
	assert_string_equal(G.k.os_version, "10.0.19045.3570");
	assert_string_equal(G.k.os_major, "10");
	assert_string_equal(G.k.os_minor, "0");
	assert_string_equal(G.k.os_build, "19045.3570");
	assert_string_equal(G.k.os_codename, "");
	assert_string_equal(G.k.os_arch, "");
	assert_string_equal(G.k.version, "Wazuh v4.14.7");
	assert_string_equal(G.k.config_sum, CSUM);
	assert_string_equal(G.k.merged_sum, MSUM);
	assert_string_equal(G.k.agent_ip, "192.0.2.7");
	teardown_k();
}

/* Windows with only three numbers: the build is the third. */
static void
test_windows_three_numbers(void **state)
{
	(void)state;
	assert_int_equal(parse("Microsoft Windows Server 2019 Datacenter "
	    "[Ver: 10.0.17763] - Wazuh v4.14.7 / " CSUM "\n"), 0);
	assert_string_equal(G.k.os_name,
	    "Microsoft Windows Server 2019 Datacenter");
	assert_string_equal(G.k.os_version, "10.0.17763");
	assert_string_equal(G.k.os_build, "17763");
	assert_string_equal(G.k.os_platform, "windows");
	teardown_k();
}

/* A uname with no bracket: only os_uname and the architecture. */
static void
test_uname_without_bracket(void **state)
{
	(void)state;
	assert_int_equal(parse("Linux |pi |6.1.21-v8+ |#1642 SMP PREEMPT "
	    "|aarch64 - Wazuh v4.14.7 / " CSUM "\n" TAIL), 0);
	assert_string_equal(G.k.os_uname,
	    "Linux |pi |6.1.21-v8+ |#1642 SMP PREEMPT |aarch64");
	assert_string_equal(G.k.os_name, "");
	assert_string_equal(G.k.os_platform, "");
	assert_string_equal(G.k.os_version, "");
	assert_string_equal(G.k.os_major, "");
	assert_string_equal(G.k.os_arch, "aarch64");
	assert_string_equal(G.k.version, "Wazuh v4.14.7");
	assert_string_equal(G.k.config_sum, CSUM);
	teardown_k();
}

/*
 * The architecture is the first name of Wazuh's table (x86_64, i386,
 * i686, sparc, amd64, i86pc, ia64, AIX, armv6, armv7, aarch64, arm64)
 * found in the uname, whatever its place in the string.
 */
static void
test_arch_table_order(void **state)
{
	static const struct {
		const char *uname, *arch;
	} cases[] = {
		/* x86_64 in a kernel build string beats the machine field */
		{ "Linux |h |5.10.0-x86_64-custom |#1 SMP |aarch64", "x86_64" },
		{ "Linux |h |3.16.0-9-amd64 |#1 SMP Debian |x86_64", "x86_64" },
		{ "FreeBSD |h |13.2-RELEASE |GENERIC |amd64", "amd64" },
		{ "Linux |h |2.6.32 |#1 SMP |i686", "i686" },
		{ "Linux |h |2.6.32-i686 |#1 SMP |i386", "i386" },
		{ "Linux |rpi |5.10.103-v7l+ |#1529 SMP |armv7l", "armv7" },
		{ "SunOS |h |5.11 |11.4.0.15.0 |i86pc", "i86pc" },
		{ "AIX |h |3 |7 |00F9C1964C00", "AIX" },
		{ "Linux |h |6.1 |#1 SMP |riscv64", "" },
	};
	char	text[512];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s [Some OS|some: 1.2] - "
		    "Wazuh v4.14.7 / " CSUM "\n", cases[i].uname);
		assert_int_equal(parse(text), 0);
		if (strcmp(G.k.os_arch, cases[i].arch) != 0)
			fail_msg("\"%s\": arch \"%s\", want \"%s\"",
			    cases[i].uname, G.k.os_arch, cases[i].arch);
		assert_string_equal(G.k.os_uname, cases[i].uname);
		teardown_k();
	}
}

/*
 * The architecture comes from the uname part only (parse_uname_string
 * cuts the string at " [" before get_os_arch): a name inside the OS
 * bracket is not the machine's architecture.
 */
static void
test_arch_not_from_bracket(void **state)
{
	(void)state;
	assert_int_equal(parse("Linux |h |6.1.0 |#1 SMP |riscv64 "
	    "[Foo Linux|foo: 3.1 (i686 legacy)] - Wazuh v4.14.7 / " CSUM
	    "\n"), 0);
	assert_string_equal(G.k.os_codename, "i686 legacy");
	assert_string_equal(G.k.os_arch, "");
	teardown_k();
	assert_int_equal(parse("Linux |h |6.1.0 |#1 SMP |aarch64 "
	    "[Foo Linux|foo: 3.1 (x86_64 compat)] - Wazuh v4.14.7 / " CSUM
	    "\n"), 0);
	assert_string_equal(G.k.os_arch, "aarch64");
	teardown_k();
}

/*
 * Labels: "key":value lines are kept, hidden !"key":value ones too,
 * #"key":value system ones are not, #"_agent_ip" is the agent's IP and
 * never a label; a key seen twice keeps its last value.
 */
static void
test_labels(void **state)
{
	cJSON		*j;
	const cJSON	*l;

	(void)state;
	assert_int_equal(parse(UBUNTU_UNAME " [Ubuntu|ubuntu: 22.04] - "
	    "Wazuh v4.14.7 / " CSUM "\n"
	    "\"team\":blue\n"
	    "!\"secret\":s3cr3t\n"
	    "#\"_system\":internal\n"
	    "\"url\":http://x.example:8080/a b\n"
	    "\"empty\":\n"
	    "\"team\":red\n"
	    MSUM " merged.mg\n"
	    "\"after\":merged\n"
	    "#\"_agent_ip\":10.0.2.15\n"), 0);
	assert_int_equal(nlabels(), 5);
	assert_string_equal(label("team"), "red");
	assert_string_equal(label("secret"), "s3cr3t");
	assert_string_equal(label("url"), "http://x.example:8080/a b");
	assert_string_equal(label("empty"), "");
	assert_string_equal(label("after"), "merged");
	assert_null(label("_system"));
	assert_null(label("_agent_ip"));
	assert_null(label("#\"_system\""));
	assert_string_equal(G.k.agent_ip, "10.0.2.15");
	assert_string_equal(G.k.merged_sum, MSUM);
	/* The JSON sent to the master carries the same labels. */
	j = to_json();
	l = cJSON_GetObjectItemCaseSensitive(j, "labels");
	assert_true(cJSON_IsObject(l));
	assert_int_equal(cJSON_GetArraySize(l), 5);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(l, "team")->
	    valuestring, "red");
	teardown_k();
}

/* Lines that look like labels but are not: ignored, nothing else moves. */
static void
test_malformed_labels(void **state)
{
	(void)state;
	assert_int_equal(parse(UBUNTU_UNAME " [Ubuntu|ubuntu: 22.04] - "
	    "Wazuh v4.14.7 / " CSUM "\n"
	    "\"unterminated\n"
	    "\"nocolon\"value\n"
	    "!novalue\n"
	    "!\n"
	    "\"\n"
	    "#\"_agent_ip\":\n"
	    "\"ok\":1\n" TAIL), 0);
	assert_int_equal(nlabels(), 1);
	assert_string_equal(label("ok"), "1");
	assert_string_equal(G.k.version, "Wazuh v4.14.7");
	assert_string_equal(G.k.agent_ip, "10.0.2.15");
	teardown_k();
}

/* No merged.mg line (an agent before its first shared config). */
static void
test_missing_merged(void **state)
{
	cJSON	*j;

	(void)state;
	assert_int_equal(parse(UBUNTU_UNAME " [Ubuntu|ubuntu: 22.04] - "
	    "Wazuh v4.14.7 / " CSUM "\n#\"_agent_ip\":10.0.2.15\n"), 0);
	assert_string_equal(G.k.merged_sum, "");
	assert_string_equal(G.k.config_sum, CSUM);
	assert_string_equal(G.k.agent_ip, "10.0.2.15");
	j = to_json();
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "merged_sum"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "config_sum"));
	teardown_k();
	/* A line with a space but another file name is not the sum either. */
	assert_int_equal(parse(UBUNTU_UNAME " - Wazuh v4.14.7 / " CSUM "\n"
	    MSUM " other.mg\n"), 0);
	assert_string_equal(G.k.merged_sum, "");
	teardown_k();
}

/* No " / <config sum>": the version is the rest of the line. */
static void
test_missing_config_sum(void **state)
{
	cJSON	*j;

	(void)state;
	assert_int_equal(parse(UBUNTU_UNAME " [Ubuntu|ubuntu: 22.04] - "
	    "Wazuh v4.14.7\n" TAIL), 0);
	assert_string_equal(G.k.version, "Wazuh v4.14.7");
	assert_string_equal(G.k.config_sum, "");
	assert_string_equal(G.k.merged_sum, MSUM);
	assert_string_equal(G.k.os_name, "Ubuntu");
	j = to_json();
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "config_sum"));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "version")->
	    valuestring, "Wazuh v4.14.7");
	teardown_k();
	/* No text at all after " / ". */
	assert_int_equal(parse(UBUNTU_UNAME " - Wazuh v4.14.7 / \n"), 0);
	assert_string_equal(G.k.version, "Wazuh v4.14.7");
	assert_string_equal(G.k.config_sum, "");
	teardown_k();
}

/*
 * CRLF line ends.  The contract (keepalive.h, like Wazuh's
 * parse_agent_update_msg, which splits on "\n" only) is LF-terminated
 * lines; real agents, Windows ones included, send "\n".  A CR is thus data
 * of the line it ends: no line is lost or merged, every field before the
 * end of its line is exact, the merged.mg line is still recognized, and
 * the field that ends a line keeps the CR, as Wazuh keeps it, written '?'
 * like any control byte.
 */
static void
test_crlf(void **state)
{
	(void)state;
	assert_int_equal(parse(UBUNTU_UNAME " [Ubuntu|ubuntu: 22.04.3 LTS "
	    "(Jammy Jellyfish)] - Wazuh v4.14.7 / " CSUM "\r\n"
	    "\"team\":blue\r\n"
	    MSUM " merged.mg\r\n"
	    "#\"_agent_ip\":10.0.2.15\r\n"), 0);
	assert_string_equal(G.k.os_uname, UBUNTU_UNAME);
	assert_string_equal(G.k.os_name, "Ubuntu");
	assert_string_equal(G.k.os_version, "22.04.3 LTS");
	assert_string_equal(G.k.os_codename, "Jammy Jellyfish");
	assert_string_equal(G.k.version, "Wazuh v4.14.7");
	assert_string_equal(G.k.merged_sum, MSUM);
	assert_string_equal(G.k.config_sum, CSUM "?");
	assert_string_equal(G.k.agent_ip, "10.0.2.15?");
	assert_string_equal(label("team"), "blue?");
	assert_int_equal(nlabels(), 1);
	teardown_k();
}

/* Texts without a "<uname> - <version>" line. */
static void
test_no_uname_line(void **state)
{
	static const char *const texts[] = {
		"", "\n", "\n\n\n",
		"Linux |h |6.1 |#1 SMP |x86_64\n",
		"Linux-Wazuh v4.14.7 / " CSUM "\n",
		"\"team\":blue\n#\"_agent_ip\":10.0.2.15\n",
		TAIL,
		"- Wazuh\n",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (parse(texts[i]) != -1)
			fail_msg("accepted: \"%s\"", texts[i]);
		teardown_k();
	}
	/* The uname line need not come first; it need not end in "\n". */
	assert_int_equal(parse("\"team\":blue\n" UBUNTU_UNAME " - Wazuh "
	    "v4.14.7 / " CSUM), 0);
	assert_string_equal(G.k.config_sum, CSUM);
	assert_string_equal(label("team"), "blue");
	teardown_k();
}

/* The first uname line counts; a later one does not overwrite it. */
static void
test_second_uname_line(void **state)
{
	(void)state;
	assert_int_equal(parse(UBUNTU_UNAME " [Ubuntu|ubuntu: 22.04] - "
	    "Wazuh v4.14.7 / " CSUM "\n"
	    "Other |x |1 |#1 |i386 [Other|other: 1.0] - Wazuh v1.0 / zz\n"
	    TAIL), 0);
	assert_string_equal(G.k.os_name, "Ubuntu");
	assert_string_equal(G.k.version, "Wazuh v4.14.7");
	assert_string_equal(G.k.os_arch, "x86_64");
	assert_string_equal(G.k.merged_sum, MSUM);
	teardown_k();
}

static char *
repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* Every field is a fixed array: long input is cut, never overflows. */
static void
test_long_lines_truncated(void **state)
{
	static char	 ub[5001], nb[3001], vb[3001], sb[3001], valb[5001],
			 ipb[3001], text[40000];
	char		*u = repeat(ub, 'u', 5000), *n = repeat(nb, 'n', 3000),
			*v = repeat(vb, 'v', 3000), *s = repeat(sb, 's', 3000),
			*val = repeat(valb, 'x', 5000),
			*ip = repeat(ipb, '9', 3000);
	size_t		 cap = sizeof(text);

	(void)state;

	/* A uname far longer than os_uname, no bracket. */
	snprintf(text, cap, "%s - %s / %s\n%s merged.mg\n\"k\":%s\n"
	    "#\"_agent_ip\":%s\n", u, v, s, s, val, ip);
	assert_int_equal(parse(text), 0);
	assert_int_equal(strlen(G.k.os_uname), KA_UNAME - 1);
	assert_int_equal(strlen(G.k.version), KA_FIELD - 1);
	assert_int_equal(strlen(G.k.config_sum), KA_FIELD - 1);
	assert_int_equal(strlen(G.k.merged_sum), KA_FIELD - 1);
	assert_int_equal(strlen(G.k.agent_ip), KA_FIELD - 1);
	assert_int_equal(strncmp(G.k.version, v, KA_FIELD - 1), 0);
	assert_non_null(label("k"));
	assert_true(strlen(label("k")) > 0 && strlen(label("k")) < 1024);
	assert_int_equal(strncmp(label("k"), val, strlen(label("k"))), 0);
	teardown_k();

	/* Long os name, version and codename inside the bracket. */
	snprintf(text, cap, "Linux |h |1 |#1 |x86_64 [%s|%s: %s (%s)] - "
	    "Wazuh v4.14.7 / " CSUM "\n", n, n, v, n);
	assert_int_equal(parse(text), 0);
	assert_string_equal(G.k.os_uname, "Linux |h |1 |#1 |x86_64");
	assert_string_equal(G.k.os_arch, "x86_64");
	assert_string_equal(G.k.version, "Wazuh v4.14.7");
	teardown_k();

	/* A short uname, then a bracket far past the line buffer. */
	snprintf(text, cap, "Linux |h |1 |#1 |x86_64 [%s|plat: 12.4 "
	    "(code)] - Wazuh v4.14.7 / " CSUM "\n", n);
	assert_int_equal(parse(text), 0);
	assert_string_equal(G.k.os_uname, "Linux |h |1 |#1 |x86_64");
	assert_string_equal(G.k.config_sum, CSUM);
	teardown_k();

	/* Windows: a name longer than os_name, a long version of digits. */
	snprintf(text, cap, "%.200s [Ver: 10.0.%s] - Wazuh v4.14.7 / " CSUM
	    "\n", n, ip);
	assert_int_equal(parse(text), 0);
	assert_int_equal(strlen(G.k.os_name), KA_FIELD - 1);
	assert_int_equal(strlen(G.k.os_uname), 200);
	assert_string_equal(G.k.os_platform, "windows");
	assert_string_equal(G.k.os_major, "10");
	assert_string_equal(G.k.os_minor, "0");
	assert_true(strlen(G.k.os_build) > 0);
	teardown_k();

	/* A long label key: cut, or dropped, never overflowing. */
	snprintf(text, cap, UBUNTU_UNAME " - Wazuh v4.14.7\n\"%s\":v\n", val);
	assert_int_equal(parse(text), 0);
	teardown_k();

}

/* The JSON for the master: empty fields left out, labels always there. */
static void
test_json(void **state)
{
	static const char *const present[] = {
		"os_uname", "os_name", "os_platform", "os_version", "os_major",
		"os_minor", "os_build", "version", "config_sum", "merged_sum",
		"agent_ip", NULL
	};
	cJSON	*j;
	size_t	 i;

	(void)state;
	assert_int_equal(parse("Microsoft Windows 11 Pro [Ver: 10.0.22631] - "
	    "Wazuh v4.14.7 / " CSUM "\n" TAIL), 0);
	j = to_json();
	assert_non_null(j);
	for (i = 0; present[i] != NULL; i++)
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j,
		    present[i])))
			fail_msg("%s missing", present[i]);
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "os_codename"));
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "os_arch"));
	assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j,
	    "labels")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    j, "labels")), 0);
	teardown_k();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_linux_ubuntu, teardown),
		cmocka_unit_test_teardown(test_linux_debian_no_minor, teardown),
		cmocka_unit_test_teardown(test_linux_no_platform, teardown),
		cmocka_unit_test_teardown(test_suse_service_pack, teardown),
		cmocka_unit_test_teardown(test_macos, teardown),
		cmocka_unit_test_teardown(test_windows_build, teardown),
		cmocka_unit_test_teardown(test_windows_three_numbers, teardown),
		cmocka_unit_test_teardown(test_uname_without_bracket, teardown),
		cmocka_unit_test_teardown(test_arch_table_order, teardown),
		cmocka_unit_test_teardown(test_arch_not_from_bracket, teardown),
		cmocka_unit_test_teardown(test_labels, teardown),
		cmocka_unit_test_teardown(test_malformed_labels, teardown),
		cmocka_unit_test_teardown(test_missing_merged, teardown),
		cmocka_unit_test_teardown(test_missing_config_sum, teardown),
		cmocka_unit_test_teardown(test_crlf, teardown),
		cmocka_unit_test_teardown(test_no_uname_line, teardown),
		cmocka_unit_test_teardown(test_second_uname_line, teardown),
		cmocka_unit_test_teardown(test_long_lines_truncated, teardown),
		cmocka_unit_test_teardown(test_json, teardown),
		cmocka_unit_test_teardown(test_control_bytes, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
