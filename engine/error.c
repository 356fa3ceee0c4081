/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "weft/common.h"

const char *weft_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	if (err == 0)
		return "Success";
	s = strerrordesc_np(err); /* static and thread-safe, unlike strerror() */
	return s ? s : "Unknown error";
}

const char *weft_version(void)
{
#define WEFT_STR_(x) #x
#define WEFT_STR(x)  WEFT_STR_(x)
	return WEFT_STR(WEFT_VERSION_MAJOR) "." WEFT_STR(WEFT_VERSION_MINOR) "." WEFT_STR(
	    WEFT_VERSION_PATCH);
}
