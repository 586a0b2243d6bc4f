/* SPDX-License-Identifier: MIT */
/*
 * <phoenix/file.h> on msgport: the attribute numbers of mtGetAttr and
 * mtSetAttr (i.attr.type), as the Phoenix-RTOS kernel's include/file.h.
 */
#ifndef MSGPORT_PHOENIX_FILE_H
#define MSGPORT_PHOENIX_FILE_H

enum {
	atMode = 0, atUid, atGid, atSize, atBlocks, atIOBlock, atType, atPort,
	atPollStatus, atEventMask, atCTime, atMTime, atATime, atLinks, atDev
};

#endif /* MSGPORT_PHOENIX_FILE_H */
