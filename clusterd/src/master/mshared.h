/*
 * mshared: the master's merged.mg files.  Each group folder of
 * etc/shared gets its merged.mg, and each multigroup an agent is in gets
 * etc/multigroups/<hash>/merged.mg (agent/merged.h has the format).  A
 * file is written only when its bytes change, so the rebuild that the
 * write's own inotify event causes ends there.  Both folders are in the
 * shared set: workers receive the files by file synchronization.
 */
#ifndef CLUSTERD_MSHARED_H
#define CLUSTERD_MSHARED_H

struct agents;
struct node;

int	mshared_start(struct node *, const struct agents *(*table)(void));
void	mshared_stop(void);
/* Rebuild now; returns how many files were written or removed. */
int	mshared_rebuild(void);
/* Groups changed (an agent's, or a group made or deleted): rebuild soon. */
void	mshared_kick(void);

#endif
