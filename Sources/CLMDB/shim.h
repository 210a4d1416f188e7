#ifndef PFX_CLMDB_SHIM_H
#define PFX_CLMDB_SHIM_H
#include <lmdb.h>
#endif
