#!/usr/bin/env python3
"""Run a command under a seccomp allow-list built like systemd's SystemCallFilter=.

usage: run-filtered.py [--allow SET]... [--deny SET]... -- COMMAND [ARG]...

SET is a group (@system-service) or a system call name; groups are expanded with
`systemd-analyze syscall-filter`, so the list is the one systemd would load. A call
outside the list fails with EPERM, as with SystemCallErrorNumber=EPERM. This lets
the tests run Node under a unit's filter without booting systemd. libseccomp is
called through ctypes: it is installed wherever systemd is.
"""
import ctypes
import os
import subprocess
import sys

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO_EPERM = 0x00050000 | 1


def read_groups():
    text = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True).stdout
    groups, current = {}, None
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if not line.startswith(" "):
            current = entry
            groups[current] = []
        elif current:
            groups[current].append(entry)
    return groups


def expand(name, groups):
    if not name.startswith("@"):
        return {name}
    calls = set()
    for entry in groups.get(name, []):
        calls |= expand(entry, groups)
    return calls


def main(argv):
    if "--" not in argv:
        sys.exit(__doc__)
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    groups = read_groups()
    allowed, denied = set(), set()
    for flag, value in zip(options[::2], options[1::2]):
        (allowed if flag == "--allow" else denied).update(expand(value, groups))
    libseccomp = ctypes.CDLL("libseccomp.so.2")
    libseccomp.seccomp_init.restype = ctypes.c_void_p
    libseccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    libseccomp.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    libseccomp.seccomp_load.argtypes = [ctypes.c_void_p]
    context = libseccomp.seccomp_init(SCMP_ACT_ERRNO_EPERM)
    for name in sorted(allowed - denied):
        number = libseccomp.seccomp_syscall_resolve_name(name.encode())
        if number >= 0:  # names this architecture does not have are skipped, as systemd does
            libseccomp.seccomp_rule_add(context, SCMP_ACT_ALLOW, number, 0)
    if libseccomp.seccomp_load(context) != 0:
        sys.exit("seccomp_load failed")
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
