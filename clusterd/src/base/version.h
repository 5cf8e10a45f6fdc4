#ifndef CLUSTERD_VERSION_H
#define CLUSTERD_VERSION_H

/* Nodes of the same major.minor interoperate; see hello_version_compatible. */
#define CLUSTERD_VERSION	"0.2.0"

#endif
