#ifndef CODEPAGES_H
#define CODEPAGES_H

#include <stddef.h>

// The kernel maps a program's code from the page cache in large runs around each page it
// touches (fault-around, and whole large folios on recent kernels). Code that runs only while
// starting (argument parsing, the YAML configuration, TLS set-up) stays mapped afterwards:
// 16 MiB of the statically linked executable's 30 MiB of text were resident in a server whose
// steady state uses about 7. Those pages count in the process's resident memory though nothing
// touches them again.

/// Drops this process's mappings of the pages of its executable and shared libraries that were
/// never written: read-only and executable mappings of loaded objects without a private
/// (copied-on-write) page. The pages stay in the page cache; a page used again is mapped again
/// by the next access, from the same file contents, so this changes what is resident and
/// nothing else. Mappings with a private page (relocated read-only data) are left alone: dropping
/// them would bring back the file's bytes from before relocation.
///
/// Returns the resident bytes of the mappings dropped, or 0 where this is not Linux or
/// `/proc/self/smaps` cannot be read.
size_t lm_release_code_pages(void);

#endif
