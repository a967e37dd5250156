"""The package surface: exports, version, typing marker, error tree."""

from __future__ import annotations

import importlib.metadata
import pathlib
import pickle
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
        and (not isinstance(value, types.ModuleType) or name in ("normalize", "web"))
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
