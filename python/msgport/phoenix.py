# SPDX-License-Identifier: MIT
"""Phoenix-RTOS message types, object types and raw areas, for writing
Phoenix-style servers and clients in Python.  The values and layouts are
those of include/msgport/phoenix.h, given by the compiler.

    file, dev = msgport.lookup_dev("/fs/hello")
    r = msgport.send(dev, type=phoenix.mtRead, raw=phoenix.pack("io", offs=0),
                     out=bytearray(128))
    n = r.err                          # Phoenix servers answer a count in err

Input parts (msg.raw of a received call, raw= of send): openclose, io,
create, attr, ln, readdir.  Output parts (respond(raw=...), Reply.raw):
oattr (o.attr), ocreate (o.create), lookup (o.lookup: answer MT_LOOKUP).
"""
from ._ffi import ffi, lib
from ._message import Oid

_TYPES = ["mtOpen", "mtClose", "mtRead", "mtWrite", "mtTruncate", "mtDevCtl", "mtCreate",
          "mtDestroy", "mtSetAttr", "mtGetAttr", "mtGetAttrAll", "mtLookup", "mtLink",
          "mtUnlink", "mtReaddir", "mtCount", "mtStat", "otDir", "otFile", "otDev",
          "otSymlink", "otUnknown"]
globals().update({name: getattr(lib, name) for name in _TYPES})

PARTS = ("openclose", "io", "create", "attr", "ln", "readdir", "oattr", "ocreate", "lookup")


def _ctype(part):
    if part not in PARTS:
        raise ValueError("unknown part %r (one of %s)" % (part, ", ".join(PARTS)))
    return "mpy_phx_%s_t" % part


def pack(part, **fields):
    """The 64-byte raw area holding part with fields (Oid fields as Oid
    or (port, id) tuples)."""
    c = ffi.new(_ctype(part) + " *")
    for name, value in fields.items():
        if isinstance(value, tuple):
            getattr(c, name).port, getattr(c, name).id = value
        else:
            setattr(c, name, value)
    return bytes(ffi.buffer(c)).ljust(lib.MP_RAW_SIZE, b"\0")


def unpack(part, raw):
    """The fields of part in a raw area, as a dict (Oid fields as Oid)."""
    c = ffi.new(_ctype(part) + " *")
    ffi.memmove(c, bytes(raw[:ffi.sizeof(c[0])]), ffi.sizeof(c[0]))
    out = {}
    for name, _ in ffi.typeof(c[0]).fields:
        v = getattr(c, name)
        out[name] = Oid(v.port, v.id) if isinstance(v, ffi.CData) else v
    return out
