#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void bend_error_clear(bend_error *err)
{
    if (!err) return;
    err->status = BEND_OK;
    err->msg[0] = '\0';
}

bend_status bend_fail(bend_error *err, bend_status status, const char *fmt, ...)
{
    if (!err) return status;
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return status;
}

bend_status bend_error_context(bend_error *err, const char *fmt, ...)
{
    if (!err) return BEND_ERR_INTERNAL;
    char prefix[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Shift the old message right and put the prefix in front; the tail is cut if too long. */
    size_t plen = strlen(prefix) + 2, olen = strnlen(err->msg, sizeof err->msg);
    if (plen >= sizeof err->msg) plen = sizeof err->msg - 1;
    if (plen + olen >= sizeof err->msg) olen = sizeof err->msg - 1 - plen;
    memmove(err->msg + plen, err->msg, olen);
    err->msg[plen + olen] = '\0';
    memcpy(err->msg, prefix, plen - 2);
    err->msg[plen - 2] = ':';
    err->msg[plen - 1] = ' ';
    return err->status;
}

const char *bend_status_name(bend_status status)
{
    switch (status) {
    case BEND_OK: return "ok";
    case BEND_ERR_IO: return "i/o error";
    case BEND_ERR_PARSE: return "parse error";
    case BEND_ERR_INVALID: return "invalid value";
    case BEND_ERR_NOMEM: return "out of memory";
    case BEND_ERR_HDF5: return "HDF5 error";
    case BEND_ERR_MPI: return "MPI error";
    case BEND_ERR_DEVICE: return "device error";
    case BEND_ERR_MISMATCH: return "store mismatch";
    case BEND_ERR_UNSUPPORTED: return "unsupported";
    case BEND_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

int bend_status_exit_code(bend_status status)
{
    switch (status) {
    case BEND_OK: return 0;
    case BEND_ERR_PARSE:
    case BEND_ERR_INVALID:
    case BEND_ERR_MISMATCH:
        return 2;
    default:
        return 1;
    }
}
