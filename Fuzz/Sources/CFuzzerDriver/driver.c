// The declaration lives in the header; nothing to define here. SwiftPM needs one C source file.
#include "CFuzzerDriver.h"
