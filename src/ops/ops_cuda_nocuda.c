/* The CUDA backend of a build without CUDA: it cannot be created. */
#include "ops/ops_cuda.h"

bend_status bend_ops_cuda_create(const bend_device *dev, bend_ops **out, bend_error *err)
{
    (void)dev;
    *out = NULL;
    return bend_fail(err, BEND_ERR_UNSUPPORTED,
                     "this bend was built without CUDA (nvcc was not found at configure time), "
                     "so it has no GPU backend; use device=cpu");
}

void bend_ops_cuda_destroy(bend_ops *o)
{
    (void)o;
}

bend_status bend_ops_cuda_set_precision(bend_ops *o, bend_cuda_precision p, bend_error *err)
{
    (void)o;
    (void)p;
    return bend_fail(err, BEND_ERR_UNSUPPORTED, "this bend was built without CUDA");
}
