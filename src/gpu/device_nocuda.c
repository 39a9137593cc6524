/* The device layer of a build without CUDA: there is never a GPU. */
#include <stdio.h>

#include "gpu/device.h"

bool bend_cuda_built(void) { return false; }

int bend_cuda_device_count(char *why, size_t why_len)
{
    if (why && why_len) snprintf(why, why_len, "this bend was built without CUDA");
    return 0;
}

bend_status bend_cuda_select(int index, bend_device *dev, bend_error *err)
{
    (void)index;
    (void)dev;
    return bend_fail(err, BEND_ERR_DEVICE, "this bend was built without CUDA");
}
