/* SPDX-License-Identifier: MIT */
/*
 * Reader of tgrec v1 recordings (../shared/recordings/README.md): header lines "# key: value",
 * then "<recv_ts_ns> <frame>" lines. Plain or zstd-compressed (.zst, any number of frames).
 *
 * Two modes, one reader:
 *  - whole file (feed_tgrec_open, feed_tgrec_open_mem): the text is held in memory at once;
 *    frames are views into it, valid until close (tools/replay serve indexes them, tests keep
 *    arrays of them);
 *  - stream (feed_tgrec_open_stream): one pass in constant memory whatever the file's size
 *    (a window that only grows to hold the longest line, plus the zstd context); frames are
 *    views into the window, valid until the next call. Used by `tickgate-replay books` for
 *    days of recordings (docs/replay.md "Reading recordings"). A zstd file is decompressed
 *    ahead by a second thread (two 64 KiB blocks), so zstd and the caller's parsing use two
 *    cores; the caller sees one thread as before.
 * In both, the frame is followed by a NUL (the line end is replaced in place), lines of any
 * length are read (no fixed-size line buffer).
 * Thread: any (one reader per thread).
 */
#ifndef FEED_TGREC_H
#define FEED_TGREC_H

#include <stddef.h>
#include <stdint.h>

#define FEED_TGREC_SENT_MAX 64

/** Default stream window (bytes): large enough that refills are rare (one read(2) per ~500
 *  frames), small enough to stay in the L2 cache and to cost few page faults (each fault of a
 *  fresh page cost ~13 us on the VMs measured: 128 KiB read the 112 MB chain in 17.5 ms, 512 KiB
 *  in 19.3, mmap of the file 45-53; docs/BENCHMARKS.md "Offline books, third pass"). */
#define FEED_TGREC_WINDOW (128u * 1024u)

typedef struct feed_tgrec {
    /* read-only after open */
    char venue[32];
    char url[512];
    char symbols[4096];                    /* comma list as in the header */
    const char *sent[FEED_TGREC_SENT_MAX]; /* "# sent:" texts, NUL-terminated, valid until close */
    size_t n_sent;
    int stream; /* opened by feed_tgrec_open_stream */
    /* read-only, updated by next() */
    size_t data_lines;   /* whole file: counted at open; stream: non-empty data lines passed so
                            far (the file's count once next() returned 0) */
    uint64_t file_bytes; /* bytes read from the file (compressed size for .zst) */
    int err;             /* stream: the read/decompress error next() returned, else 0 */
    /* private */
    char *buf;       /* whole: the text; stream: the window */
    size_t len;      /* bytes in buf */
    size_t cap;      /* allocated size of buf (> len: room for a NUL) */
    size_t pos;      /* offset of the next data line in buf */
    size_t data_off; /* whole: offset of the first data line in buf; stream: in the text */
    uint64_t base;   /* text offset of buf[0] (stream) */
    size_t line_no;
    int fd;
    int eof;  /* no more text will come into buf */
    void *zs; /* ZSTD_DStream, NULL for plain text */
    unsigned char *zin;
    size_t zin_len, zin_pos;
    int zin_eof;
    size_t zlast;             /* last ZSTD_decompressStream() hint: 0 = a frame ended cleanly */
    char *hdr;                /* copies of the "# sent:" texts */
    struct feed_tgrec_zt *zt; /* stream + zstd: the decompression thread */
} feed_tgrec_t;

/** Open and load a whole recording (plain or zstd).
 *  @return 0, -errno (file), -EBADMSG (corrupt or truncated zstd), TG_EPROTO (not tgrec v1),
 *  -ENOMEM.  Thread: any. */
int feed_tgrec_open(feed_tgrec_t **out, const char *path);

/** Load from memory (copied). @return 0, TG_EPROTO, -ENOMEM.  Thread: any. */
int feed_tgrec_open_mem(feed_tgrec_t **out, const char *text, size_t len);

/**
 * Open a recording for one streaming pass: only the header is read here (so a caller can
 * check the venue before reading the data); feed_tgrec_next() then reads and decompresses as
 * it goes through a window of `window` bytes (0: FEED_TGREC_WINDOW) that grows only when one
 * line is longer. Memory stays constant in the file's size.
 * @return as feed_tgrec_open().  Thread: any.
 */
int feed_tgrec_open_stream(feed_tgrec_t **out, const char *path, size_t window);

/** Close and free; *r is set to NULL; NULL or *r NULL is a no-op.  Thread: the reader's. */
void feed_tgrec_close(feed_tgrec_t **r);

/**
 * Next data line. *frame points into the reader's memory and is followed by a NUL (the line
 * end is replaced); it stays valid until close (whole file) or until the next call (stream).
 * @return 1 (a line), 0 (end), TG_EPROTO (bad line: *frame/len give the raw line; reading
 *         can go on); stream only: -errno (read error) or -EBADMSG (corrupt or truncated zstd
 *         data; the complete lines before it were returned), returned once and kept in
 *         r->err, after which next() returns 0.
 */
int feed_tgrec_next(feed_tgrec_t *r, int64_t *ts_ns, const char **frame, size_t *len);

/** Start again at the first data line (stream: the file is read again from its start).
 *  @return 0 or a negative code as feed_tgrec_next() (stream only).  Thread: the reader's. */
int feed_tgrec_rewind(feed_tgrec_t *r);

/** Plain-text bytes passed over so far, header included (whole file: up to the next line).
 *  Thread: the reader's. */
uint64_t feed_tgrec_text_offset(const feed_tgrec_t *r);

/** Is the frame a generated (non-websocket) record, e.g. an in-band REST snapshot? */
int feed_tgrec_is_generated(const char *frame, size_t len);

#endif
