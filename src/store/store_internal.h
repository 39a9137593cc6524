/* Shared between the store's creation and filling code. */
#ifndef BEND_STORE_STORE_INTERNAL_H
#define BEND_STORE_STORE_INTERNAL_H

#include <hdf5.h>

#include "store/store.h"

/* The HDF5 type of `embeddings`: IEEE float32, or IEEE binary16 laid out as h5py's float16 (so
 * h5py reads it as numpy float16). The caller closes it. */
hid_t bend_store_embedding_type(bend_store_dtype dtype);

#endif
