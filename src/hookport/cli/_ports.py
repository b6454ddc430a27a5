"""Who holds a TCP port: for ``serve``'s one-line answer when its port is taken.

Linux only, and only what this user may see: the listening socket's inode from
``/proc/net/tcp`` and ``/proc/net/tcp6``, then the process whose ``/proc/PID/fd`` links to it
(other users' processes are not readable without privileges). Anything else: unknown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

LISTEN = "0A"  # the TCP state column of /proc/net/tcp


@dataclass(frozen=True, slots=True)
class Holder:
    """A process listening on the port."""

    pid: int
    name: str


def listening_inodes(port: int, proc: Path = Path("/proc")) -> set[str]:
    """Inodes of the sockets listening on ``port`` (any address, IPv4 or IPv6)."""
    found: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            _, _, hex_port = fields[1].rpartition(":")
            if int(hex_port, 16) == port and fields[9] != "0":
                found.add(fields[9])
    return found


def port_holder(port: int, proc: Path = Path("/proc")) -> Holder | None:
    """The process listening on ``port`` when this user can see it, else None."""
    inodes = listening_inodes(port, proc)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:  # another user's process, or gone
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target in wanted:
                return Holder(int(entry.name), _name(entry))
    return None


def _name(entry: Path) -> str:
    try:
        return (entry / "comm").read_text().strip() or "?"
    except OSError:
        return "?"


def port_in_use_message(host: str, port: int) -> str:
    """One line: the port, and who holds it where this user can know."""
    holder = port_holder(port)
    who = (
        f"by {holder.name} (pid {holder.pid})"
        if holder is not None
        else "by another process (not one this user can see)"
    )
    return (
        f"port {port} on {host} is already in use {who}; stop it, or listen elsewhere with "
        "--port (or [server] port)"
    )
