/*
 * mscope: which worker may speak for an agent.  See mscope.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agents.h"
#include "base/strmap.h"
#include "master/mscope.h"

static struct {
	int		(*node_up)(const char *);
	double		 window;
	struct strmap	 closed;	/* ids whose node said "closed" */
	int		 started;
} MS;

/* The map's keys are its values: copies, freed with their entries. */
static void
free_closed(void)
{
	size_t	 it = 0;
	char	*id;

	while ((id = strmap_next(&MS.closed, &it)) != NULL)
		free(id);
	strmap_free(&MS.closed);
}

void
mscope_start(int (*node_up)(const char *), double window)
{
	if (MS.started)
		free_closed();
	MS.node_up = node_up;
	MS.window = window;
	strmap_init(&MS.closed);
	MS.started = 1;
}

void
mscope_stop(void)
{
	if (MS.started)
		free_closed();
	MS.started = 0;
}

static int
has_node(const struct agent *a)
{
	return a->node_name[0] != '\0' && strcmp(a->node_name, "unknown") != 0;
}

/* Whether node may report a's status now (see mscope.h). */
int
mscope_may_report(const struct agent *a, const char *node)
{
	if (!has_node(a) || strcmp(a->node_name, node) == 0)
		return 1;
	if (!agent_is_up(a))
		return 1;
	if (MS.node_up != NULL && !MS.node_up(a->node_name))
		return 1;
	if (MS.started && strmap_get(&MS.closed, a->id) != NULL)
		return 1;
	return difftime(time(NULL), a->last_keepalive) >= MS.window;
}

/* a's node says its connection closed: another worker may take it. */
void
mscope_closed(const struct agent *a, const char *node)
{
	char	*id;

	if (!MS.started || !has_node(a) || strcmp(a->node_name, node) != 0 ||
	    strmap_get(&MS.closed, a->id) != NULL)
		return;
	/* Out of memory: the agent moves after the window instead. */
	if ((id = strdup(a->id)) != NULL &&
	    strmap_put(&MS.closed, id, id) == -1)
		free(id);
}

/* node now serves a (a report was taken): no longer "closed". */
void
mscope_reported(const struct agent *a)
{
	if (MS.started)
		free(strmap_del(&MS.closed, a->id));
}
