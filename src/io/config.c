/* placeholder until the config module lands */
#include "io/config.h"
