"""The package surface: exports, version, typing marker, error tree."""

from __future__ import annotations

import importlib.metadata
import json
import pathlib
import pickle
import subprocess
import sys
import textwrap
import types

import snapcapi
from snapcapi import errors


def test_all_is_sorted_and_complete():
    """__all__ is sorted and names exactly the public attributes of the package."""
    assert snapcapi.__all__ == sorted(snapcapi.__all__)
    public = {
        name
        for name, value in vars(snapcapi).items()
        if not name.startswith("_")
        and (not isinstance(value, types.ModuleType) or name in ("normalize", "problems", "web"))
    }
    assert set(snapcapi.__all__) - {"__version__"} == public
    for name in snapcapi.__all__:
        assert hasattr(snapcapi, name)


def test_version_comes_from_metadata():
    """__version__ is the installed distribution's version."""
    assert snapcapi.__version__ == importlib.metadata.version("snapcapi")


def test_py_typed_marker_ships():
    """The package is marked as typed."""
    assert (pathlib.Path(snapcapi.__file__).parent / "py.typed").exists()


def test_error_tree():
    """Every error derives from SnapCapiError; ValidationError is also a ValueError."""
    assert issubclass(errors.ValidationError, ValueError)
    for cls in (errors.ValidationError, errors.TransportError, errors.APIError):
        assert issubclass(cls, errors.SnapCapiError)
    assert issubclass(errors.AuthenticationError, errors.APIError)
    assert issubclass(errors.RateLimitError, errors.APIError)
    error = errors.ValidationError("email", "is empty")
    assert str(error) == "email: is empty"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.field, copy.reason) == ("email", "is empty")
    api = errors.APIError("bad", status_code=400, codes=("C1",), messages=("m",))
    assert (api.status_code, api.codes, api.messages) == (400, ("C1",), ("m",))


def test_masking_forms():
    """Masked identifiers keep a first letter and a tail, never the value."""
    from snapcapi._masking import mask, mask_email

    assert mask_email("Person@Example.com") == "P*****@E******.com"
    assert mask_email("a@b") == "*@*"
    assert mask("448444124653") == "4*********53"
    assert mask("ab") == "**"
    assert mask("abcd") == "a***"


def run_python(code: str) -> dict:
    """Run code in a fresh interpreter; return the JSON object it prints last."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.splitlines()[-1])


def test_importing_snapcapi_leaves_logging_and_atexit_untouched():
    """Importing snapcapi, snapcapi.testing or snapcapi.cli adds no log handler, filter or hook."""
    report = run_python(
        """
        import atexit, json, logging
        import requests, urllib3  # they add their own NullHandlers when imported: not ours

        def loggers():
            found = {"": logging.getLogger()}
            for name, logger in logging.Logger.manager.loggerDict.items():
                if isinstance(logger, logging.Logger):
                    found[name] = logger
            return {
                name: [repr(logger.handlers), repr(logger.filters), logger.level,
                       logger.propagate, logger.disabled]
                for name, logger in found.items()
            }

        before, exits = loggers(), atexit._ncallbacks()
        import snapcapi, snapcapi.cli, snapcapi.testing, snapcapi.web
        after = loggers()
        fresh = ["[]", "[]", logging.NOTSET, True, False]  # a logger merely created
        changed = {
            name: state for name, state in after.items() if state != before.get(name, fresh)
        }
        print(json.dumps({"changed": changed, "exit_hooks": atexit._ncallbacks() - exits,
                          "disable": logging.root.manager.disable}))
        """
    )
    assert report == {"changed": {}, "exit_hooks": 0, "disable": 0}


def test_the_first_background_sender_installs_the_exit_and_fork_hooks_once():
    """The first BackgroundSender, not the import, installs one exit and one fork hook."""
    report = run_python(
        """
        import atexit, json, os, threading
        forks = []
        register_at_fork = os.register_at_fork
        def recording(**hooks):  # the real registration, noted
            forks.append(sorted(hooks) + sorted({str(h.__module__) for h in hooks.values()}))
            register_at_fork(**hooks)
        os.register_at_fork = recording

        import snapcapi
        counts = {"import": (atexit._ncallbacks(), len(forks))}
        at_import = list(forks)
        client = snapcapi.Client("pixel", "token", base_url="http://127.0.0.1:9")
        snapcapi.Client("pixel", "token", base_url="http://127.0.0.1:9")
        counts["client"] = (atexit._ncallbacks(), len(forks))
        start, senders = threading.Barrier(8), []
        def make():
            start.wait()
            senders.append(snapcapi.BackgroundSender(client))
        threads = [threading.Thread(target=make) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        counts["senders"] = (atexit._ncallbacks(), len(forks))
        snapcapi.BackgroundSender(client)
        counts["another"] = (atexit._ncallbacks(), len(forks))
        print(json.dumps({"counts": counts, "forks": forks, "made": len(senders),
                          "at_import": at_import}))
        """
    )
    counts = report["counts"]
    assert not [hook for hook in report["at_import"] if any("snapcapi" in m for m in hook)]
    # Clients renew their session and token lock in a forked child: one hook, for all clients.
    assert counts["client"] == [counts["import"][0], counts["import"][1] + 1]
    assert report["forks"][counts["import"][1]] == ["after_in_child", "snapcapi._transport._fork"]
    exits, forks = counts["client"]
    assert report["made"] == 8
    assert counts["senders"] == [exits + 1, forks + 1]  # once, for eight senders at a time
    assert counts["another"] == counts["senders"]
    assert report["forks"][-1] == ["after_in_child", "snapcapi.background"]
