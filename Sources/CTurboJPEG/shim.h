#ifndef TESSERA_CTURBOJPEG_SHIM_H
#define TESSERA_CTURBOJPEG_SHIM_H
#include <stddef.h>
// The TurboJPEG 2.x API, calls up to libjpeg-turbo 2.1 (never tj3*): every zip carries its own 2.1 (DESIGN.md).
#include <turbojpeg.h>

// TJPF_CMYK arrived in libjpeg-turbo 1.4 (TJ_NUMPF 12); kept as a check for an older library: -1 there.
static inline int tessera_tjpf_cmyk(void) {
#if TJ_NUMPF >= 12
    return TJPF_CMYK;
#else
    return -1;
#endif
}
#endif
