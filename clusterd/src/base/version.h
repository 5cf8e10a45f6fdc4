#ifndef CLUSTERD_VERSION_H
#define CLUSTERD_VERSION_H

/*
 * A master admits nodes of its major.minor and of the minor before (a
 * rolling upgrade, master first); see hello_version_compatible.
 */
#define CLUSTERD_VERSION	"0.3.0"

#endif
