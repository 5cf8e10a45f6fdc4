/*
 * sdnotify: systemd's readiness protocol (sd_notify(3)), without
 * libsystemd: one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET.
 * Linking libsystemd for these two messages mapped it and six libraries
 * of its own into every node (about 1 MB resident each).
 */
#ifndef CLUSTERD_SDNOTIFY_H
#define CLUSTERD_SDNOTIFY_H

/* Send state ("READY=1", "STOPPING=1") when $NOTIFY_SOCKET is set: 1 sent,
 * 0 not under systemd's supervision, -1 on failure (errno set). */
int	sdnotify_send(const char *state);

#endif
