/* placeholder until the demo-data module lands */
#include "demo/demo_data.h"
