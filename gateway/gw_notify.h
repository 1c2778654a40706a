/* SPDX-License-Identifier: MIT */
/*
 * systemd readiness and watchdog (the sd_notify protocol, without libsystemd): one datagram
 * to the AF_UNIX socket named by $NOTIFY_SOCKET. Outside systemd (no NOTIFY_SOCKET) every call
 * is a no-op. Thread: main.
 */
#ifndef GW_NOTIFY_H
#define GW_NOTIFY_H

#include <stdint.h>

/**
 * Send state lines ("READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=...") to the service
 * manager.
 * @return 1 sent; 0 not under systemd (no NOTIFY_SOCKET); -errno on failure (bad socket name,
 *         send failed).
 */
int gw_notify(const char *state);

/** The watchdog interval systemd asks for ($WATCHDOG_USEC, for this process per
 *  $WATCHDOG_PID), in microseconds; 0 when there is none. */
uint64_t gw_notify_watchdog_usec(void);

#endif
