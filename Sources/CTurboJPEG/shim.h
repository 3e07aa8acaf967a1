#ifndef TESSERA_CTURBOJPEG_SHIM_H
#define TESSERA_CTURBOJPEG_SHIM_H
#include <stddef.h>
// Only the calls Amazon Linux 2's libjpeg-turbo 1.2.90 has may be used (see DESIGN.md).
#include <turbojpeg.h>

// TJPF_CMYK arrived in libjpeg-turbo 1.4 (TJ_NUMPF 12); 1.2.90 has none, and then this is -1.
static inline int tessera_tjpf_cmyk(void) {
#if TJ_NUMPF >= 12
    return TJPF_CMYK;
#else
    return -1;
#endif
}
#endif
