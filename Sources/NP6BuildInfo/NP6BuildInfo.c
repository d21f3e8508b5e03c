#include "NP6BuildInfo.h"

#ifndef NP6_SYNC_COMMIT
#define NP6_SYNC_COMMIT "unknown"
#endif

const char *np6_sync_build_commit(void) { return NP6_SYNC_COMMIT; }
