// Everything is in include/CFileBirth.h, inline; SwiftPM wants one source file per C target.
#include "CFileBirth.h"
