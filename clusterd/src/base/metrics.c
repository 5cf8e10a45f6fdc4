#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"

/* One metric of a scrape: its definition and its sample lines so far. */
struct family {
	const struct metrics_def	*def;
	struct buf			 lines;
};

struct metrics {
	struct family	*fam;
	size_t		 n, cap;
	int		 failed;	/* out of memory: no text */
};

static struct {
	metrics_collector	 fn;
	void			*arg;
} collectors[METRICS_COLLECTORS_MAX];
static size_t	ncollectors;

/*
 * Add a collector, run at every scrape after those registered before it.
 * Returns -1, logged, when METRICS_COLLECTORS_MAX are registered: a
 * program error that leaves the collector's metrics out, nothing worse.
 */
int
metrics_register(metrics_collector fn, void *arg)
{
	if (ncollectors == METRICS_COLLECTORS_MAX) {
		log_errx("Metrics", "More than %d collectors: some metrics are "
		    "left out.", METRICS_COLLECTORS_MAX);
		return -1;
	}
	collectors[ncollectors].fn = fn;
	collectors[ncollectors].arg = arg;
	ncollectors++;
	return 0;
}

/* Remove a collector; one never registered is ignored. */
void
metrics_unregister(metrics_collector fn, void *arg)
{
	size_t	i;

	for (i = 0; i < ncollectors; i++) {
		if (collectors[i].fn != fn || collectors[i].arg != arg)
			continue;
		memmove(&collectors[i], &collectors[i + 1],
		    (ncollectors - i - 1) * sizeof(collectors[0]));
		ncollectors--;
		return;
	}
}

static int
valid_name(const char *s)
{
	size_t	i;

	if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == ':'))
			return 0;
	return 1;
}

static void
put_str(struct metrics *m, struct buf *b, const char *s)
{
	if (buf_append(b, s, strlen(s)) == -1)
		m->failed = 1;
}

/*
 * s with the format's escapes: backslash and newline always, the double
 * quote too inside a label value (quote set).
 */
static void
put_escaped(struct metrics *m, struct buf *b, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			put_str(m, b, "\\\\");
		else if (*s == '\n')
			put_str(m, b, "\\n");
		else if (*s == '"' && quote)
			put_str(m, b, "\\\"");
		else if (buf_append(b, s, 1) == -1)
			m->failed = 1;
	}
}

/* A sample's value as the format writes it: integers without a point. */
static void
format_value(double v, char *out, size_t len)
{
	if (isnan(v))
		snprintf(out, len, "NaN");
	else if (isinf(v))
		snprintf(out, len, "%sInf", v > 0 ? "+" : "-");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)	/* 2^53 */
		snprintf(out, len, "%.0f", v);
	else
		snprintf(out, len, "%.17g", v);
}

/* The scrape's family for def, made on first use; NULL when out of memory. */
static struct family *
family(struct metrics *m, const struct metrics_def *def)
{
	struct family	*f;
	size_t		 i;

	for (i = 0; i < m->n; i++) {
		if (strcmp(m->fam[i].def->name, def->name) != 0)
			continue;
		assert(m->fam[i].def->type == def->type);
		return &m->fam[i];
	}
	if (m->n == m->cap) {
		if ((f = reallocarray(m->fam, m->cap ? m->cap * 2 : 32,
		    sizeof(*f))) == NULL)
			return NULL;
		m->fam = f;
		m->cap = m->cap ? m->cap * 2 : 32;
	}
	f = &m->fam[m->n++];
	f->def = def;
	buf_init(&f->lines);
	return f;
}

/*
 * One sample of def: "name{k="v",...} value" appended to its metric's
 * lines, so a collector may put its metrics in any order and several
 * collectors may add to one metric.
 */
void
metrics_put(struct metrics *m, const struct metrics_def *def, double value,
    ...)
{
	struct family	*f;
	const char	*k, *v;
	char		 num[40];
	va_list		 ap;
	int		 n = 0;

	assert(valid_name(def->name) && def->help != NULL);
	if ((f = family(m, def)) == NULL) {
		m->failed = 1;
		return;
	}
	put_str(m, &f->lines, def->name);
	va_start(ap, value);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		n++;
		assert(valid_name(k) && v != NULL && n <= METRICS_LABELS_MAX);
		put_str(m, &f->lines, n == 1 ? "{" : ",");
		put_str(m, &f->lines, k);
		put_str(m, &f->lines, "=\"");
		put_escaped(m, &f->lines, v, 1);
		put_str(m, &f->lines, "\"");
	}
	va_end(ap);
	if (n > 0)
		put_str(m, &f->lines, "}");
	format_value(value, num, sizeof(num));
	put_str(m, &f->lines, " ");
	put_str(m, &f->lines, num);
	put_str(m, &f->lines, "\n");
}

/*
 * Run every collector and render what they put: the exposition text,
 * NUL-terminated, for the caller to free, with its length in *len; NULL
 * when out of memory.
 */
char *
metrics_scrape(size_t *len)
{
	struct metrics	 m;
	struct buf	 out;
	const char	*type;
	size_t		 i;

	memset(&m, 0, sizeof(m));
	buf_init(&out);
	for (i = 0; i < ncollectors; i++)
		collectors[i].fn(&m, collectors[i].arg);
	for (i = 0; i < m.n; i++) {
		type = m.fam[i].def->type == METRICS_COUNTER ? "counter" :
		    "gauge";
		put_str(&m, &out, "# HELP ");
		put_str(&m, &out, m.fam[i].def->name);
		put_str(&m, &out, " ");
		put_escaped(&m, &out, m.fam[i].def->help, 0);
		put_str(&m, &out, "\n# TYPE ");
		put_str(&m, &out, m.fam[i].def->name);
		put_str(&m, &out, " ");
		put_str(&m, &out, type);
		put_str(&m, &out, "\n");
		if (buf_append(&out, buf_head(&m.fam[i].lines),
		    buf_used(&m.fam[i].lines)) == -1)
			m.failed = 1;
		buf_free(&m.fam[i].lines);
	}
	free(m.fam);
	if (buf_append(&out, "", 1) == -1 || m.failed) {
		buf_free(&out);
		return NULL;
	}
	*len = buf_used(&out) - 1;
	return (char *)out.data;
}
