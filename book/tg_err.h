/* SPDX-License-Identifier: MIT */
/*
 * tickgate error codes. Every call that can fail returns 0 or a negative code: either a
 * negative errno (-EINVAL, -ENOMEM, ...) or one of the project codes below, which start at
 * -4000 so they never collide with errno values. tg_strerror() maps any of them to text.
 */
#ifndef TG_ERR_H
#define TG_ERR_H

#include <errno.h>

enum {
    TG_EDEC_SYNTAX = -4000,    /* decimal string is not a number */
    TG_EDEC_RANGE = -4001,     /* value does not fit int64 at the requested scale */
    TG_EDEC_PRECISION = -4002, /* more significant fractional digits than the scale holds */
    TG_EDEC_NEGATIVE = -4003,  /* negative value where only >= 0 is meaningful */
    TG_EJSON = -4010,          /* malformed JSON / unexpected structure */
    TG_EFIELD = -4011,         /* a required field is missing or has the wrong type */
    TG_ESYMBOL = -4012,        /* symbol not in the instrument registry */
    TG_EFULL = -4020,          /* ring or buffer full */
    TG_EGAP = -4030,           /* exchange sequence gap */
    TG_ECHECKSUM = -4031,      /* venue checksum mismatch */
    TG_ECROSSED = -4032,       /* book crossed after a complete message */
    TG_ECONFIG = -4040,        /* invalid configuration */
    TG_EPG = -4050,            /* PostgreSQL error (details in the object's errstr) */
    TG_EREDIS = -4051,         /* Redis error (details in the object's errstr) */
    TG_ESPILL = -4052,         /* spill journal corrupt or full */
    TG_EPROTO = -4060,         /* protocol violation by the peer (venue, server) */
    TG_ERESCALE = -4070,       /* an instrument's scale was raised: parse the message again */
    TG_EVENUE = -4080,         /* unknown venue id */
};

/** Text for any tickgate error code or negative errno. Never NULL.  Thread: any. */
const char *tg_strerror(int err);

#endif
