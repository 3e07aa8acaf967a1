#ifndef TESSERA_CTURBOJPEG_SHIM_H
#define TESSERA_CTURBOJPEG_SHIM_H
#include <stddef.h>
// Only the calls Amazon Linux 2's libjpeg-turbo 1.2.90 has may be used (see DESIGN.md).
#include <turbojpeg.h>
#endif
