"""A seccomp-BPF filter for plugin runners, built and installed without any dependency.

The filter is a classic BPF program over ``struct seccomp_data`` (syscall number at offset
0, audit architecture at 4, the first argument's low word at 16). It denies, with
``EPERM``, every system call a plugin needs neither to compute features nor to explain:
sockets (the runner talks to its host over inherited pipes, never a socket), new
processes (``fork``, ``vfork``, ``clone`` without ``CLONE_THREAD``, ``execve``),
``ptrace`` and reading other processes' memory, mounts, namespaces, keyrings, BPF, kernel
modules and ``io_uring``. ``clone3`` answers ``ENOSYS`` so the C library falls back to
``clone``, whose flags the filter can inspect (threads stay allowed: XGBoost and OpenMP
need them). A foreign architecture or an x32 call kills the process.

Installed with ``seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC)``: the filter
covers every thread already running (OpenBLAS starts some at import), and no later code in
the process can remove or loosen it — filters only ever stack.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

# BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JSET_K = 0x45
_JGE_K = 0x35
_RET_K = 0x06

_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000

_CLONE_THREAD = 0x00010000
_X32_BIT = 0x40000000

#: per architecture: (AUDIT_ARCH_*, seccomp syscall number, {name: number})
_ARCHES: dict[str, tuple[int, int, dict[str, int]]] = {
    "x86_64": (0xC000003E, 317, {
        "socket": 41, "socketpair": 53, "connect": 42, "accept": 43, "accept4": 288,
        "bind": 49, "listen": 50, "fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272,
        "setns": 308, "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321,
        "perf_event_open": 298, "kexec_load": 246, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "open_by_handle_at": 304, "name_to_handle_at": 303, "personality": 135,
        "clone": 56, "clone3": 435, "process_madvise": 440, "pidfd_getfd": 438,
        "fsopen": 430, "fsmount": 432, "move_mount": 429, "open_tree": 428,
    }),
    "aarch64": (0xC00000B7, 277, {
        "socket": 198, "socketpair": 199, "connect": 203, "accept": 202, "accept4": 242,
        "bind": 200, "listen": 201, "execve": 221, "execveat": 281, "ptrace": 117,
        "process_vm_readv": 270, "process_vm_writev": 271, "mount": 40, "umount2": 39,
        "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268, "keyctl": 219,
        "add_key": 217, "request_key": 218, "bpf": 280, "perf_event_open": 241,
        "kexec_load": 104, "init_module": 105, "finit_module": 273, "delete_module": 106,
        "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "open_by_handle_at": 265, "name_to_handle_at": 264,
        "personality": 92, "clone": 220, "clone3": 435, "process_madvise": 440,
        "pidfd_getfd": 438, "fsopen": 430, "fsmount": 432, "move_mount": 429,
        "open_tree": 428,
    }),
}

#: denied whatever their arguments
DENIED = ("socket", "socketpair", "connect", "accept", "accept4", "bind", "listen", "fork",
          "vfork", "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2",
          "pivot_root", "chroot", "unshare", "setns", "keyctl", "add_key", "request_key",
          "bpf", "perf_event_open", "kexec_load", "init_module", "finit_module",
          "delete_module", "userfaultfd", "io_uring_setup", "io_uring_enter",
          "io_uring_register", "open_by_handle_at", "name_to_handle_at", "personality",
          "process_madvise", "pidfd_getfd", "fsopen", "fsmount", "move_mount", "open_tree")
#: denied once the runner has started (the sandbox launcher itself must still exec Python)
EXEC = ("execve", "execveat")


class SeccompUnavailable(RuntimeError):
    """This machine's kernel or architecture cannot take the filter."""


def program(*, deny_exec: bool = True) -> bytes:
    """The filter as ``struct sock_filter[]`` bytes (what ``bwrap --seccomp`` reads too)."""
    machine = platform.machine()
    if machine not in _ARCHES:
        raise SeccompUnavailable(f"no seccomp syscall table for {machine}")
    arch, _, numbers = _ARCHES[machine]
    names = [n for n in DENIED if n in numbers] + (list(EXEC) if deny_exec else [])
    eperm = _RET_ERRNO | errno.EPERM
    ops: list[tuple[int, int, int, int]] = [
        (_LD_W_ABS, 0, 0, 4),                      # A = arch
        (_JEQ_K, 1, 0, arch),                      # our arch? skip the kill
        (_RET_K, 0, 0, _RET_KILL_PROCESS),
        (_LD_W_ABS, 0, 0, 0),                      # A = nr
    ]
    if machine == "x86_64":
        ops += [(_JGE_K, 0, 1, _X32_BIT), (_RET_K, 0, 0, _RET_KILL_PROCESS)]
    # clone3 -> ENOSYS (libc falls back to clone, whose flags we can read)
    ops += [(_JEQ_K, 0, 1, numbers["clone3"]), (_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS)]
    # clone: allowed only for threads
    ops += [(_JEQ_K, 0, 4, numbers["clone"]),
            (_LD_W_ABS, 0, 0, 16),                 # A = flags (low word of args[0])
            (_JSET_K, 1, 0, _CLONE_THREAD),
            (_RET_K, 0, 0, eperm),
            (_RET_K, 0, 0, _RET_ALLOW)]
    for name in names:
        ops += [(_JEQ_K, 0, 1, numbers[name]), (_RET_K, 0, 0, eperm)]
    ops.append((_RET_K, 0, 0, _RET_ALLOW))
    return b"".join(struct.pack("=HBBI", *op) for op in ops)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(*, deny_exec: bool = True) -> None:
    """Install the filter on every thread of this process; raise if the kernel refuses."""
    machine = platform.machine()
    if machine not in _ARCHES:
        raise SeccompUnavailable(f"no seccomp syscall table for {machine}")
    code = program(deny_exec=deny_exec)
    buffer = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise SeccompUnavailable(f"PR_SET_NO_NEW_PRIVS failed: errno {ctypes.get_errno()}")
    seccomp_nr = _ARCHES[machine][1]
    # SECCOMP_SET_MODE_FILTER = 1, SECCOMP_FILTER_FLAG_TSYNC = 1
    rc = libc.syscall(ctypes.c_long(seccomp_nr), ctypes.c_uint(1), ctypes.c_uint(1),
                      ctypes.byref(prog))
    if rc != 0:
        raise SeccompUnavailable(f"seccomp(SET_MODE_FILTER) failed: rc {rc}, errno "
                                 f"{ctypes.get_errno()}")
