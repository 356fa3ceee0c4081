/* SPDX-License-Identifier: MIT */
/* What the framer (frame.c) needs to know of a stream (stream.c) beyond the public API. */
#ifndef WEFT_ENGINE_RBUF_H
#define WEFT_ENGINE_RBUF_H

#include <stddef.h>

#include "weft/stream.h"

/* The read buffer's capacity: the largest frame or peek @stream can ever hold. */
size_t weft__stream_rbuf_cap(const weft_stream *stream);

#endif
