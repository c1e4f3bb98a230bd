// Everything is in include/CByteScan.h, inline; SwiftPM wants one source file per C target.
#include "CByteScan.h"
