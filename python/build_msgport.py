# SPDX-License-Identifier: MIT
"""Build msgport's Python extension, _msgport_cffi, with cffi in API mode.

Usage: python3 build_msgport.py SRC_DIR BUILD_DIR [RPATH OUT_DIR]
  SRC_DIR    the source tree (its include/ holds msgport.h)
  BUILD_DIR  where libmsgport.so is (make's $(B)); the extension is
             written to BUILD_DIR/python/, its rpath BUILD_DIR.
  RPATH      instead: the rpath, where libmsgport.so will be installed
             (make install's $(LIBDIR)), and OUT_DIR where the
             extension is written (linked still against BUILD_DIR).

API mode: the extension is C compiled against include/msgport.h, so the
compiler, not this file, decides every struct's layout and every
constant's value.  The declarations below name fields and constants and
end each struct with "...;" (cffi asks the compiler for the rest).
"""
import os
import sys

import cffi

CDEF = r"""
typedef uint32_t mp_port_t;
typedef uint64_t mp_rid_t;
typedef unsigned int gid_t;
typedef unsigned int uid_t;
typedef unsigned int mode_t;

#define MP_VERSION_MAJOR ...
#define MP_VERSION_MINOR ...
#define MP_FOREVER ...
#define MP_RAW_SIZE ...
#define MP_FDS_MAX ...
#define MP_DATA_MAX ...
#define MP_MOVE ...
#define MP_SHARE ...
#define MP_OUT_INOUT ...
#define MP_PRIO_MAX ...
#define MP_PATH_MAX ...
#define MP_PORT_INPUT_IN_PLACE ...
#define MP_PORT_DISCONNECT_PULSES ...
#define MP_NS_ENTRY_MOUNT ...
#define MP_RECV_PULSE ...
#define MP_PULSE_DISCONNECT ...
#define MP_PULSE_CODES ...
#define MP_PULSE_PENDING_MAX ...
#define MP_WATCH_MAX ...
#define MP_MT_LOOKUP ...
#define MP_LOOKUP_HOPS_MAX ...
#define MP_PULSE_FD_MAX ...
#define MP_PULSE_FD_PER_PID ...

enum mp_transport_id {
	MP_TRANSPORT_DEFAULT, MP_TRANSPORT_SOCK, MP_TRANSPORT_RING, MP_TRANSPORT_HYBRID, ...
};

typedef struct mp_oid { mp_port_t port; uint32_t reserved; uint64_t id; ...; } mp_oid_t;

struct mp_msg_in {
	void *data; size_t size; int fds[...]; uint32_t nfds; uint8_t raw[...]; ...;
};
struct mp_msg_out {
	void *data; size_t size; int fds[...]; uint32_t nfds; int32_t err; uint8_t raw[...]; ...;
};
typedef struct mp_msg {
	uint32_t type; uint32_t flags; mp_oid_t oid; int32_t pid; uint32_t uid; uint32_t gid;
	uint32_t priority; struct mp_msg_in i; struct mp_msg_out o; ...;
} mp_msg_t;

typedef struct mp_port_opts { size_t sz; uint32_t transport; uint32_t flags; ...; } mp_port_opts_t;
typedef struct mp_ns_entry {
	char path[...]; mp_oid_t oid; int32_t owner_pid; uint32_t mode; uint32_t live; uint32_t flags; ...;
} mp_ns_entry_t;
typedef struct mp_pulse_info { uint64_t value; uint32_t count; ...; } mp_pulse_info_t;
typedef struct mp_lookup_reply { mp_oid_t file; mp_oid_t dev; ...; } mp_lookup_reply_t;
typedef int (*mp_ns_list_fn)(const mp_ns_entry_t *entry, void *arg);

int mp_port_create(mp_port_t *port);
int mp_port_create_opts(mp_port_t *port, const mp_port_opts_t *opts);
int mp_port_destroy(mp_port_t port);
int mp_port_fd(mp_port_t port);
int mp_port_register(mp_port_t port, const char *path, unsigned mode);
int mp_oid_register(const mp_oid_t *oid, const char *path, unsigned mode);
int mp_port_unregister(const char *path);
int mp_lookup(const char *path, mp_oid_t *oid);
int mp_lookup_dev(const char *path, mp_oid_t *file, mp_oid_t *dev);
int mp_mount_register(const mp_oid_t *oid, const char *path, unsigned mode);
int mp_ns_list(const char *prefix, mp_ns_list_fn fn, void *arg);
int mp_cred_check(const mp_msg_t *m, uid_t owner, gid_t group, mode_t mode, int want);
int mp_send(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns);
int mp_send_async(mp_port_t port, mp_msg_t *msg, int64_t timeout_ns);
typedef struct mp_call mp_call_t;
int mp_call_start(mp_port_t port, mp_msg_t *msg, mp_call_t **call);
int mp_call_fd(const mp_call_t *call);
int mp_call_finish(mp_call_t *call, int64_t timeout_ns);
void mp_call_cancel(mp_call_t *call);
int mp_recv(mp_port_t port, mp_msg_t *msg, mp_rid_t *rid, int64_t timeout_ns);
int mp_respond(mp_port_t port, mp_msg_t *msg, mp_rid_t rid);
const char *mp_strerror(int err);
void *mp_pages_alloc(size_t len);
int mp_pages_free(void *addr, size_t len);
int mp_pages_keep(void *addr, size_t len);
mp_pulse_info_t mp_msg_pulse(const mp_msg_t *msg);
int mp_pulse(mp_port_t port, uint32_t code, uint64_t value);
int mp_port_watch(mp_port_t watched, mp_port_t notify, uint32_t code);
int mp_port_unwatch(mp_port_t watched, mp_port_t notify);
int mp_pulse_on_fd(mp_port_t port, int fd, uint32_t code);
int mp_pulse_on_fd_cancel(mp_port_t port, uint32_t code);

extern "Python" int _mpy_ns_entry(const mp_ns_entry_t *entry, void *arg);

/* Phoenix-RTOS (include/msgport/phoenix.h): message and object types,
 * and the parts of the raw areas, named by the typedefs in SOURCE. */
typedef long... off_t;
typedef struct _oid_t { uint32_t port; uint64_t id; ...; } oid_t;
static const int mtOpen, mtClose, mtRead, mtWrite, mtTruncate, mtDevCtl, mtCreate, mtDestroy,
	mtSetAttr, mtGetAttr, mtGetAttrAll, mtLookup, mtLink, mtUnlink, mtReaddir, mtCount, mtStat;
static const int otDir, otFile, otDev, otSymlink, otUnknown;
typedef struct { unsigned int flags; ...; } mpy_phx_openclose_t;
typedef struct { off_t offs; size_t len; unsigned int mode; ...; } mpy_phx_io_t;
typedef struct { int type; unsigned int mode; oid_t dev; ...; } mpy_phx_create_t;
typedef struct { long long val; int type; ...; } mpy_phx_attr_t;
typedef struct { oid_t oid; ...; } mpy_phx_ln_t;
typedef struct { off_t offs; ...; } mpy_phx_readdir_t;
typedef struct { long long val; ...; } mpy_phx_oattr_t;
typedef struct { oid_t oid; ...; } mpy_phx_ocreate_t;
typedef struct { oid_t fil; oid_t dev; ...; } mpy_phx_lookup_t;
"""

# The Phoenix raw-area parts are anonymous in msg_t: name them by the
# members' types, so that their layout is still the compiler's.
SOURCE = r"""
#include <msgport.h>
#include <msgport/phoenix.h>
#define MPY_T(name, member) typedef __typeof__(((msg_t *)0)->member) name
MPY_T(mpy_phx_openclose_t, i.openclose);
MPY_T(mpy_phx_io_t, i.io);
MPY_T(mpy_phx_create_t, i.create);
MPY_T(mpy_phx_attr_t, i.attr);
MPY_T(mpy_phx_ln_t, i.ln);
MPY_T(mpy_phx_readdir_t, i.readdir);
MPY_T(mpy_phx_oattr_t, o.attr);
MPY_T(mpy_phx_ocreate_t, o.create);
MPY_T(mpy_phx_lookup_t, o.lookup);
/* Phoenix's raw unions start where msgport's raw areas are carried. */
_Static_assert(offsetof(msg_t, i.io) == offsetof(msg_t, i.raw), "i.raw");
_Static_assert(offsetof(msg_t, o.lookup) == offsetof(msg_t, o.raw), "o.raw");
"""


def builder(src, build, rpath=None):
    lib_dir = os.path.abspath(build)
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("_msgport_cffi", SOURCE,
                   include_dirs=[os.path.join(os.path.abspath(src), "include")],
                   library_dirs=[lib_dir], libraries=["msgport"],
                   runtime_library_dirs=[rpath or lib_dir],
                   extra_compile_args=["-std=gnu11", "-D_GNU_SOURCE", "-Wall", "-Werror=implicit-function-declaration",
                                       "-Werror=incompatible-pointer-types"])
    return ffi


if __name__ == "__main__":
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    src, build = sys.argv[1], sys.argv[2]
    rpath, out = sys.argv[3:5] if len(sys.argv) == 5 else (None, os.path.join(build, "python"))
    os.makedirs(out, exist_ok=True)
    builder(src, build, rpath).compile(tmpdir=out, verbose=False)
