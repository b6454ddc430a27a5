"""``hookport.cli._ports``: finding who listens on a port from a /proc tree."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from hookport.cli._ports import Holder, listening_inodes, port_holder

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def fake_proc(tmp_path: Path, rows: list[str]) -> Path:
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(HEADER + "".join(rows))
    return tmp_path


def row(address: str, state: str, inode: str) -> str:
    return f"   0: {address} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000  1000 0 {inode} 1\n"


def test_only_listening_sockets_on_the_port_count(tmp_path: Path) -> None:
    proc = fake_proc(
        tmp_path,
        [
            row("0100007F:1F90", "0A", "111"),  # 127.0.0.1:8080, listening
            row("0100007F:1F90", "01", "222"),  # 8080, established: not a holder
            row("00000000:1F91", "0A", "333"),  # 8081
        ],
    )
    assert listening_inodes(8080, proc) == {"111"}
    assert port_holder(8080, proc) is None  # no process of this user links to it


def test_the_holder_is_found_by_its_socket_inode(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, [row("0100007F:1F90", "0A", "4242")])
    pid = proc / "77"
    (pid / "fd").mkdir(parents=True)
    (pid / "comm").write_text("nginx\n")
    os.symlink("socket:[4242]", pid / "fd" / "3")
    os.symlink("/dev/null", pid / "fd" / "0")
    (proc / "self").mkdir()  # not a pid: skipped
    assert port_holder(8080, proc) == Holder(77, "nginx")


def test_the_real_proc_finds_this_process() -> None:
    held = socket.socket()
    try:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        found = port_holder(held.getsockname()[1])
    finally:
        held.close()
    assert found is not None and found.pid == os.getpid()
