"""Problems as values: what is wrong, as a code, the field at fault and the message shown.

Modules that react to another's outcome (an identifier dropped, an event unfit to send, a row
that cannot become an event) read a :class:`Problem`'s :attr:`~Problem.code` and
:attr:`~Problem.field`, and count it under its :attr:`~Problem.title`; they never parse its
message, whose wording is free to improve. The message is the public string, unchanged: what
``Event.problems()``, ``UserData.warnings`` and the reports have always shown.

Programs compare :attr:`Problem.code` with this module's constants
(``problems.NO_MATCH_KEY``); :attr:`snapcapi.EventResult.codes` of an ``INVALID`` event holds
the same codes. This module is the ground floor: it imports nothing of snapcapi when it runs
(the errors module only for a type), so every layer may use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from snapcapi.errors import Remedy, ValidationError

__all__ = [
    "APP_WITHOUT_PLATFORM",
    "EVENT_TIME_FUTURE",
    "EVENT_TIME_STALE",
    "EVENT_TIME_TOO_OLD",
    "GROUP_SPLIT",
    "INVALID_VALUE",
    "LABELS",
    "MADID_ZERO",
    "NOT_A_RECORD",
    "NOT_JSON",
    "NO_MATCH_KEY",
    "PHONE_NO_COUNTRY_CODE",
    "PURCHASE_WITHOUT_VALUE",
    "UNREADABLE_CSV",
    "WEB_WITHOUT_URL",
    "WRONG_WIDTH",
    "Problem",
    "title",
]

# Why an event cannot be sent (Event.problems).
#: No email, phone, IP + user agent pair or (app events) mobile ad id.
NO_MATCH_KEY = "no_match_key"
#: A phone number written without its country code, and no country or region to read it in.
PHONE_NO_COUNTRY_CODE = "phone_no_country_code"
#: A ``PURCHASE`` without ``custom_data.value`` or ``custom_data.currency``.
PURCHASE_WITHOUT_VALUE = "purchase_without_value"
#: A ``WEB`` event without ``event_source_url``.
WEB_WITHOUT_URL = "web_without_url"
#: A ``MOBILE_APP`` event without ``app_data`` and its platform.
APP_WITHOUT_PLATFORM = "app_without_platform"
#: An event time older than Snap's 37 days.
EVENT_TIME_TOO_OLD = "event_time_too_old"
#: An event time more than 10 minutes ahead of the clock.
EVENT_TIME_FUTURE = "event_time_future"

# What Snap accepts but the user should know (Event.notices).
#: An event time 7 to 37 days old: accepted, attributed less well.
EVENT_TIME_STALE = "event_time_stale"

# Identifiers dropped on the way in (UserData.warnings), besides PHONE_NO_COUNTRY_CODE.
#: The all-zero mobile ad id of a device with limited ad tracking.
MADID_ZERO = "madid_zero"
#: A value that cannot be used; the error that refused it says why (see :meth:`Problem.from_error`).
INVALID_VALUE = "invalid_value"

# Rows that cannot become events (RowProblem), besides INVALID_VALUE and PHONE_NO_COUNTRY_CODE.
#: An item that is not a record (a dict; in JSON Lines, an object).
NOT_A_RECORD = "not_a_record"
#: A JSON Lines line that is not JSON.
NOT_JSON = "not_json"
#: A CSV row the csv module cannot read.
UNREADABLE_CSV = "unreadable_csv"
#: A CSV row with more or fewer values than its header has columns.
WRONG_WIDTH = "wrong_number_of_values"
#: A ``group_by`` value whose rows are not together.
GROUP_SPLIT = "group_split"

#: The label of each code whose messages carry a value: what is wrong in a few words, without
#: it, so that 10,000 events with one mistake count under one line. The messages of the
#: problems of an event as a whole (:data:`NO_MATCH_KEY`, :data:`PURCHASE_WITHOUT_VALUE`,
#: :data:`WEB_WITHOUT_URL`, :data:`APP_WITHOUT_PLATFORM`) carry none and are their own labels;
#: :data:`INVALID_VALUE` takes the label of the error behind it.
LABELS: Mapping[str, str] = {
    PHONE_NO_COUNTRY_CODE: "has no country code",
    EVENT_TIME_TOO_OLD: "older than 37 days (Snap refuses it)",
    EVENT_TIME_FUTURE: "more than 10 minutes in the future",
    EVENT_TIME_STALE: "7 to 37 days old",
    MADID_ZERO: "is the all-zero id a device reports when ad tracking is limited",
    NOT_A_RECORD: "expected a record",
    NOT_JSON: "not valid JSON",
    UNREADABLE_CSV: "unreadable CSV",
    WRONG_WIDTH: "has more or fewer values than the header has columns",
    GROUP_SPLIT: "its group_by value comes again after other rows, so its line items are not "
    "together",
}
# The problems of an event as a whole: their messages carry no value, and name the fields.
_WHOLE_EVENT = frozenset(
    {NO_MATCH_KEY, PURCHASE_WITHOUT_VALUE, WEB_WITHOUT_URL, APP_WITHOUT_PLATFORM}
)

# What an error's reason may echo of the value at fault: a masked form (``j***@e******.com``,
# a word holding ``*``), or a quoted one at the start (``'Buy0' is not ...``) or after "got"
# (``expected ..., got 'x'``). Words are matched one by one (``\S+`` cannot backtrack), and
# only the start of a reason is read: the label never grows with a long value.
_WORD = re.compile(r"\S+\s?")
_QUOTED = re.compile(r"^(?:'[^']*'|\"[^\"]*\")\s+|,? got (?:'[^']*'|\"[^\"]*\")")
_LABEL_SPAN = 500
# The category ends where the detail or the advice begins (they vary with the value).
_DETAIL = re.compile(r"; |\. | \(|\?")


def _category(reason: str) -> str:
    """Return the label of a reason that no code of this module describes.

    Errors (:class:`~snapcapi.ValidationError`) carry a field and a reason, no code, so their
    label comes from the reason: without the value it echoes and without the detail, so
    10,000 bad emails (or event times) form one line and no value is kept. Done once, here,
    where the problem is made; whoever counts it reads :attr:`Problem.label`.
    """
    words = _WORD.findall(reason[:_LABEL_SPAN])
    unmasked = "".join(word for word in words if "*" not in word)
    label = _DETAIL.split(_QUOTED.sub("", unmasked).strip(), maxsplit=1)[0].strip(" .:,")
    return label or "invalid"


def title(code: str, field: str | None, label: str) -> str:
    """Return the line a problem is counted under: ``"phone: has no country code"``.

    The field comes first, unless there is none or the label names the event as a whole
    (``"PURCHASE events need ..."``).
    """
    if field is None or code in _WHOLE_EVENT:
        return label
    return f"{field}: {label}"


def _default_label(problem: Problem) -> str:
    if problem.code in _WHOLE_EVENT:
        return problem.message
    return LABELS.get(problem.code) or _category(problem._reason or problem.message)


@attrs.frozen(slots=True)
class Problem:
    """What is wrong with an event, an identifier or a row, as a value.

    Attributes:
        code: A short stable identifier, one of this module's constants
            (``"phone_no_country_code"``); what code reads.
        field: The field at fault as the user names it (``"phone"``, ``"event_time"``), or
            None when no field is.
        message: The public string, identifiers masked: what people read.
        label: What is wrong in a few words, without any value (``"has no country code"``):
            :data:`LABELS` for the code, the message itself when it carries no value, else
            derived from the message when it is first asked for (only counting asks).
    """

    code: str
    field: str | None
    message: str
    _label: str | None = attrs.field(default=None, eq=False, repr=False, alias="label")
    # What the label is cut from when it is asked for, if not the message (a drop's reason).
    _reason: str | None = attrs.field(default=None, eq=False, repr=False, alias="reason")
    # The setting that would have kept a dropped value, for each interface to word.
    _remedy: Remedy | None = attrs.field(default=None, eq=False, repr=False, alias="remedy")

    @property
    def label(self) -> str:
        """What is wrong in a few words, without any value."""
        return self._label if self._label is not None else _default_label(self)

    @property
    def remedy(self) -> Remedy | None:
        """The setting that fixes it, when one does (each interface words its advice)."""
        return self._remedy

    @property
    def title(self) -> str:
        """The line this problem is counted under, field first (see :func:`title`)."""
        return title(self.code, self.field, self.label)

    @classmethod
    def from_error(
        cls, error: ValidationError, *, code: str | None = None, field: str | None = None
    ) -> Problem:
        """Make the problem of a value ``error`` refused, in the error's own words.

        Args:
            error: The error.
            code: The code, when the caller knows more than the error (else the error's).
            field: The field, when the caller names it otherwise than the error.
        """
        return cls(code or error.code, error.field if field is None else field, error.problem)

    @classmethod
    def dropped(cls, code: str, field: str, reason: str, remedy: Remedy | None = None) -> Problem:
        """Make the problem of an identifier left out: message ``"<field> dropped: <reason>"``."""
        message = f"{field} dropped: {reason}"
        return cls(code, field, message, LABELS.get(code), reason=reason, remedy=remedy)
