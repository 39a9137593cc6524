#include "gpu/device.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

int bend_gpu_for_local_rank(int local_rank, int visible_devices)
{
    if (visible_devices <= 0) return -1;
    if (local_rank < 0) local_rank = 0;
    return local_rank % visible_devices;
}

bend_status bend_device_choose(const char *request, int local_rank, bend_device *dev,
                               bend_error *err)
{
    memset(dev, 0, sizeof *dev);
    dev->kind = BEND_DEVICE_CPU;
    dev->index = -1;
    snprintf(dev->name, sizeof dev->name, "cpu");
    if (!request) request = "auto";
    if (!strcmp(request, "cpu")) return BEND_OK;
    if (strcmp(request, "auto") && strcmp(request, "cuda"))
        return bend_fail(err, BEND_ERR_INVALID,
                         "config key 'device': expected auto, cpu or cuda, got '%s'", request);
    char why[256] = "";
    int n = bend_cuda_device_count(why, sizeof why);
    if (n <= 0) {
        if (!strcmp(request, "cuda"))
            return bend_fail(err, BEND_ERR_DEVICE, "device=cuda, but no GPU is usable: %s", why);
        bend_info("no GPU visible (%s); running on the CPU", why);
        return BEND_OK;
    }
    return bend_cuda_select(bend_gpu_for_local_rank(local_rank, n), dev, err);
}
