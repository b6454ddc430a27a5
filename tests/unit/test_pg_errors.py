"""PostgreSQL driver errors that mean "the server is gone" become StoreUnavailable (503)."""

from __future__ import annotations

import asyncpg
import pytest

from hookport.errors import StoreError, StoreUnavailable
from hookport.store._pgconn import driver_errors


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "refused"),
        TimeoutError(),
        asyncpg.InterfaceError("connection is closed"),
        # Raised when a fast shutdown lands mid-protocol (seen in the outage test's logs).
        asyncpg.InternalClientError("cannot switch to state 15; another operation is in progress"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    ],
)
def test_connection_failures_are_store_unavailable(error: BaseException) -> None:
    with pytest.raises(StoreUnavailable), driver_errors():
        raise error


def test_other_database_errors_are_store_errors_not_outages() -> None:
    with pytest.raises(StoreError) as info, driver_errors():
        raise asyncpg.UndefinedTableError("relation does not exist")
    assert not isinstance(info.value, StoreUnavailable)
