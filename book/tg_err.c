/* SPDX-License-Identifier: MIT */
/* tg_strerror(): one place that maps project codes and negative errno values to text. */
#include "tg_err.h"

#include <string.h>

const char *tg_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case TG_EDEC_SYNTAX:
        return "decimal: not a number";
    case TG_EDEC_RANGE:
        return "decimal: value out of int64 range at this scale";
    case TG_EDEC_PRECISION:
        return "decimal: more fractional digits than the scale holds";
    case TG_EDEC_NEGATIVE:
        return "decimal: negative value not allowed";
    case TG_EJSON:
        return "malformed JSON or unexpected message structure";
    case TG_EFIELD:
        return "required field missing or of the wrong type";
    case TG_ESYMBOL:
        return "unknown symbol";
    case TG_EFULL:
        return "ring or buffer full";
    case TG_EGAP:
        return "exchange sequence gap";
    case TG_ECHECKSUM:
        return "venue checksum mismatch";
    case TG_ECROSSED:
        return "book crossed after a complete message";
    case TG_ECONFIG:
        return "invalid configuration";
    case TG_EPG:
        return "PostgreSQL error";
    case TG_EREDIS:
        return "Redis error";
    case TG_ESPILL:
        return "spill journal error";
    case TG_EPROTO:
        return "protocol violation by peer";
    case TG_ERESCALE:
        return "instrument scale raised (message to be parsed again)";
    case TG_EVENUE:
        return "unknown venue";
    default:
        break;
    }
    if (err < 0 && err > -4000)
        return strerror(-err); /* glibc strerror returns static text for known codes */
    return "unknown error";
}
