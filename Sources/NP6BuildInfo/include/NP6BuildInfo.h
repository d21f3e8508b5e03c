#ifndef NP6_BUILD_INFO_H
#define NP6_BUILD_INFO_H

/// The commit np6-sync was built from, as scripts/build-deb passes it (NP6_SYNC_COMMIT in the
/// environment of `swift build`, read by Package.swift); "unknown" for any other build.
const char *np6_sync_build_commit(void);

#endif
