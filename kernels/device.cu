// The device layer of a CUDA build: device discovery and selection through the runtime API.
// Any runtime error (no driver, no device) is reported as "no GPU", never as a crash.
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

extern "C" {
#include "gpu/device.h"
}

extern "C" bool bend_cuda_built(void) { return true; }

extern "C" int bend_cuda_device_count(char *why, size_t why_len)
{
    int n = 0;  // cudaGetDeviceCount leaves its output untouched on error
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        if (why && why_len) snprintf(why, why_len, "%s", cudaGetErrorString(e));
        (void)cudaGetLastError();
        return 0;
    }
    if (n == 0 && why && why_len) snprintf(why, why_len, "no CUDA device is visible");
    return n;
}

extern "C" bend_status bend_cuda_select(int index, bend_device *dev, bend_error *err)
{
    cudaError_t e = cudaSetDevice(index);
    if (e != cudaSuccess)
        return bend_fail(err, BEND_ERR_DEVICE, "cannot use GPU %d: %s", index, cudaGetErrorString(e));
    cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, index);
    if (e != cudaSuccess)
        return bend_fail(err, BEND_ERR_DEVICE, "cannot query GPU %d: %s", index, cudaGetErrorString(e));
    dev->kind = BEND_DEVICE_CUDA;
    dev->index = index;
    snprintf(dev->name, sizeof dev->name, "%s", prop.name);
    return BEND_OK;
}
