#ifndef CCODEPAGES_H
#define CCODEPAGES_H

#include <stddef.h>

// The kernel maps a program's code from the page cache in large runs around each page it
// touches (fault-around, and whole large folios on recent kernels). Code that runs only while
// starting (argument parsing, the YAML configuration, TLS set-up) stays mapped afterwards:
// 16 MiB of the statically linked executable's 30 MiB of text were resident in a server whose
// steady state uses about 7. Those pages count in the process's resident memory though nothing
// touches them again.

/// Drops this process's mappings of the segments of its executable and shared libraries that
/// are never written: every loadable segment without write permission, of every object without
/// text relocations. The pages stay in the page cache; a page used again is mapped again by the
/// next access, from the same file, so this changes what is resident and nothing else. Segments
/// with write permission (data, and relocated read-only data, which the loader writes and then
/// protects) are left alone: dropping their pages would lose what was written.
///
/// Runs under the dynamic loader's lock (dl_iterate_phdr), so no library is being mapped or
/// relocated meanwhile. Returns the bytes of the address ranges advised (resident or not), or 0
/// where this is not Linux.
size_t lm_release_code_pages(void);

#endif
