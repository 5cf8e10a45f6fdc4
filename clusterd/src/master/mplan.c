#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master/mplan.h"

/*
 * Append s as a JSON string, escaped as cJSON escapes it: quote,
 * backslash and control characters; other bytes as they are.
 */
int
mplan_json_string(struct buf *b, const char *s)
{
	static const char	hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[6];
	size_t			 run;

	if (buf_append(b, "\"", 1) == -1)
		return -1;
	while (*p != '\0') {
		for (run = 0; p[run] >= 0x20 && p[run] != '"' &&
		    p[run] != '\\'; run++)
			;
		if (buf_append(b, p, run) == -1)
			return -1;
		p += run;
		if (*p == '\0')
			break;
		esc[0] = '\\';
		if (*p == '"' || *p == '\\') {
			esc[1] = (char)*p;
			run = 2;
		} else {
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			run = 6;
		}
		if (buf_append(b, esc, run) == -1)
			return -1;
		p++;
	}
	return buf_append(b, "\"", 1);
}

static int
put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* ["path","md5hex",mode] */
static int
put_file(struct buf *b, const struct integ_file *f)
{
	char	tail[64];

	integ_hex(f->md5, tail + 2);
	tail[0] = ',';
	tail[1] = '"';
	snprintf(tail + 34, sizeof(tail) - 34, "\",%u]", (unsigned)f->mode);
	return put(b, "[") == -1 || mplan_json_string(b, f->path) == -1 ||
	    put(b, tail) == -1 ? -1 : 0;
}

static int
put_digest(struct buf *b, const char *key, const uint8_t d[16])
{
	char	s[64];

	snprintf(s, sizeof(s), ",\"%s\":\"", key);
	integ_hex(d, s + strlen(s));
	return put(b, s) == -1 || put(b, "\"") == -1 ? -1 : 0;
}

/*
 * The round: files to create, then to update, in path order, while their
 * sizes add up to at most limit, and always one at least.
 */
static int
take_files(struct mplan *mp, const struct integ_index *m,
    const struct integ_plan *plan, uint64_t limit)
{
	size_t	total = plan->ncreate + plan->nupdate, k, i;

	mp->paths = calloc(total ? total : 1, sizeof(*mp->paths));
	mp->modes = calloc(total ? total : 1, sizeof(*mp->modes));
	if (mp->paths == NULL || mp->modes == NULL)
		return -1;
	for (k = 0; k < total; k++) {
		i = k < plan->ncreate ? plan->create[k] :
		    plan->update[k - plan->ncreate];
		if (mp->npaths > 0 && mp->bytes + m->files[i].size > limit) {
			mp->more = 1;
			break;
		}
		mp->bytes += m->files[i].size;
		mp->paths[mp->npaths] = m->files[i].path;
		mp->modes[mp->npaths] = m->files[i].mode;
		mp->npaths++;
		if (k < plan->ncreate)
			mp->ncreate++;
	}
	return 0;
}

/*
 * Build the round's file list and the plan's text: {"in_sync":false,
 * "create":[[path,md5,mode],...],"update":[...],"more":B,"bytes":N,
 * "delete":[path,...],"transfer":N,"digest":HEX,"base":HEX}.  Every file
 * to remove goes in this round.  Returns 0, or -1 when out of memory.
 */
int
mplan_build(struct mplan *mp, const struct integ_index *m,
    const struct integ_index *w, const struct integ_plan *plan,
    uint64_t limit, uint32_t transfer)
{
	struct buf	*b = &mp->text;
	char		 num[96];
	size_t		 k, i;

	memset(mp, 0, sizeof(*mp));
	buf_init(b);
	if (take_files(mp, m, plan, limit) == -1 ||
	    put(b, "{\"in_sync\":false,\"create\":[") == -1)
		goto fail;
	for (k = 0; k < mp->npaths; k++) {
		i = k < plan->ncreate ? plan->create[k] :
		    plan->update[k - plan->ncreate];
		if (put(b, k == mp->ncreate ? "],\"update\":[" : k > 0 ?
		    "," : "") == -1 || put_file(b, &m->files[i]) == -1)
			goto fail;
	}
	if (mp->ncreate == mp->npaths && put(b, "],\"update\":[") == -1)
		goto fail;
	snprintf(num, sizeof(num), "],\"more\":%s,\"bytes\":%llu,\"delete\":[",
	    mp->more ? "true" : "false", (unsigned long long)mp->bytes);
	if (put(b, num) == -1)
		goto fail;
	for (k = 0; k < plan->nremove; k++)
		if ((k > 0 && put(b, ",") == -1) || mplan_json_string(b,
		    w->files[plan->remove[k]].path) == -1)
			goto fail;
	snprintf(num, sizeof(num), "],\"transfer\":%u", (unsigned)transfer);
	if (put(b, num) == -1 || put_digest(b, "digest", m->digest) == -1 ||
	    put_digest(b, "base", w->digest) == -1 || put(b, "}") == -1)
		goto fail;
	return 0;
fail:
	mplan_free(mp);
	return -1;
}

/* The text is sent once; the file list lives as long as the transfer. */
void
mplan_free_text(struct mplan *mp)
{
	buf_free(&mp->text);
}

void
mplan_free(struct mplan *mp)
{
	free(mp->paths);
	free(mp->modes);
	buf_free(&mp->text);
	memset(mp, 0, sizeof(*mp));
	buf_init(&mp->text);
}
