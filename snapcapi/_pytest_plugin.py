"""pytest plugin shipped with snapcapi: the ``snap_server`` fixture.

Registered through the ``pytest11`` entry point, so any project with snapcapi installed can
write ``def test_checkout(snap_server): ...`` and get a started
:class:`snapcapi.testing.FakeSnapServer`, stopped after the test. Parametrize it indirectly to
choose the answer shape::

    @pytest.mark.parametrize("snap_server", ["documented", "live"], indirect=True)
    def test_checkout(snap_server): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from snapcapi.testing import FakeSnapServer


@pytest.fixture
def snap_server(request: pytest.FixtureRequest) -> Iterator[FakeSnapServer]:
    """Yield a running fake Snap server on loopback for one test.

    The answer shape is ``"documented"`` unless the test parametrizes ``snap_server``
    indirectly with ``"documented"`` or ``"live"``.
    """
    # Imported here, so merely having snapcapi installed costs other test suites nothing.
    from snapcapi.testing import FakeSnapServer

    with FakeSnapServer(answers=getattr(request, "param", "documented")) as server:
        yield server
