#ifndef PFX_CPCRE2_SHIM_H
#define PFX_CPCRE2_SHIM_H
/* PCRE2, 8-bit code units. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
