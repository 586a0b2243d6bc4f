/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "msgport.h"

const char *mp_strerror(int err)
{
	if (err > 0 || err < -4095)
		return "unknown error";	/* also keeps -INT_MIN out of reach */
	switch (-err) {
	case 0:
		return "success";
	case EPIPE:
		return "peer is gone (server died, port destroyed or caller gave up)";
	case ENOENT:
		return "no such port, path or request";
	case EEXIST:
		return "path is registered to a live port";
	case EACCES:
		return "access denied by the entry's mode";
	case EUSERS:
		return "too many connections of this user to the port";
	case EMSGSIZE:
		return "message data too large";
	case ETIMEDOUT:
		return "timed out";
	case EAGAIN:
		return "would block";
	case EPROTO:
		return "peer sent a malformed message";
	default:
		return strerror(-err);
	}
}
