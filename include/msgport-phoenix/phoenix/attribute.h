/* SPDX-License-Identifier: MIT */
/*
 * <phoenix/attribute.h> of libphoenix on msgport: a helper of servers
 * answering mtGetAttrAll.
 */
#ifndef MSGPORT_PHOENIX_ATTRIBUTE_H
#define MSGPORT_PHOENIX_ATTRIBUTE_H

#include "../sys/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Set the err of every attribute of attrs to err (values untouched). */
extern void _phoenix_initAttrsStruct(struct _attrAll *attrs, int err);

#ifdef __cplusplus
}
#endif
#endif /* MSGPORT_PHOENIX_ATTRIBUTE_H */
