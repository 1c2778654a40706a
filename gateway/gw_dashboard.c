/* SPDX-License-Identifier: MIT */
/*
 * The live dashboard page served at / (docs/dashboard.md). The page is written as a plain file,
 * gateway/www/dashboard.html (HTML, CSS and JavaScript, charts drawn on canvas: no library,
 * nothing fetched from the internet), and compiled in: gateway/www/embed.py turns it into the
 * byte list below at build time.
 */
#include <stddef.h>

#include "gw_dashboard_html.h"

extern const char gw_dashboard_html[];
const char gw_dashboard_html[] = {GW_DASHBOARD_HTML_BYTES, 0};
