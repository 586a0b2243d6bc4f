/* SPDX-License-Identifier: MIT */
/* msgport stat and msgport top (tools/stat.c): live port statistics. */
#ifndef MSGPORT_TOOL_STAT_H
#define MSGPORT_TOOL_STAT_H

int cmd_stat(int argc, char **argv);
int cmd_top(int argc, char **argv);

#endif
