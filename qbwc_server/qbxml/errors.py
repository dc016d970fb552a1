"""What QuickBooks' failures mean: an outcome for the queue and a fix in plain words for admins.

Two kinds: HRESULTs (the request processor itself failed; the Web Connector passes them to
receiveResponseXML or connectionError) and qbXML status codes (one per `*Rs` element).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Outcome(enum.StrEnum):
    #: Nothing wrong (or nothing to do about it).
    DONE = "done"
    #: Transient: try again later.
    RETRY = "retry"
    #: Something it depends on is not in QuickBooks yet.
    WAIT_FOR_DEPENDENCY = "wait_for_dependency"
    #: Only a person can fix it; `fix` says how.
    NEEDS_ADMIN = "needs_admin"
    #: Will never succeed.
    DEAD = "dead"


@dataclass(frozen=True)
class Explanation:
    outcome: Outcome
    meaning: str
    fix: str


_HRESULTS: dict[str, Explanation] = {
    "0x80040400": Explanation(
        Outcome.NEEDS_ADMIN,
        "QuickBooks could not parse the request",
        "The request is not valid qbXML for this QuickBooks version. For a raw request, check it"
        " against the qbXML reference; otherwise report this job to qbwc-server's maintainers.",
    ),
    "0x80040401": Explanation(
        Outcome.RETRY,
        "the Web Connector could not access QuickBooks",
        "Make sure QuickBooks is running on the Web Connector's PC, no modal dialog is open in it,"
        " and the company file is not being backed up or verified.",
    ),
    "0x80040402": Explanation(
        Outcome.RETRY,
        "QuickBooks reported an unexpected error",
        "Check qbsdklog.txt on the QuickBooks PC; restarting QuickBooks usually clears it.",
    ),
    "0x80040408": Explanation(
        Outcome.RETRY,
        "the Web Connector could not start QuickBooks",
        "Open QuickBooks on the Web Connector's PC and log into the company file, or allow this"
        " application to log in automatically (Edit > Preferences > Integrated Applications).",
    ),
    "0x80040410": Explanation(
        Outcome.RETRY,
        "the company file is open in another mode",
        "Switch QuickBooks to the mode it was authorised in (single- or multi-user), or close"
        " the other copy of the file.",
    ),
    "0x80040416": Explanation(
        Outcome.NEEDS_ADMIN,
        "QuickBooks has a different company file open than the one this application expects",
        "Open the right company file in QuickBooks, or clear the expected file with"
        " `qbwc-server tenant set TENANT --company-file ''`.",
    ),
    "0x80040418": Explanation(
        Outcome.NEEDS_ADMIN,
        "this application is not allowed to access the company file",
        "In QuickBooks (as Admin, single-user mode) open Edit > Preferences > Integrated"
        " Applications > Company Preferences and allow this application.",
    ),
    "0x8004041a": Explanation(
        Outcome.NEEDS_ADMIN,
        "this application does not have permission to access the company file",
        "In QuickBooks (as Admin) allow this application under Edit > Preferences > Integrated"
        " Applications, then run the Web Connector again.",
    ),
}

_UNKNOWN_HRESULT = Explanation(
    Outcome.RETRY,
    "the QuickBooks request processor failed",
    "Check that QuickBooks is running with the company file open; see qbsdklog.txt and the"
    " Web Connector log on the QuickBooks PC if it keeps happening.",
)


#: HRESULTs after which the request certainly did not run: QuickBooks could not even read it, so
#: a write is known not to have happened. After any other, a write's outcome is unknown.
NOT_RUN_HRESULTS = frozenset({"0x80040400"})


def request_not_run(hresult: str) -> bool:
    """Whether QuickBooks certainly did not run the request (so a write did not happen)."""
    return hresult.strip().lower() in NOT_RUN_HRESULTS


def explain_hresult(hresult: str) -> Explanation:
    """The meaning and fix for an HRESULT such as '0x80040408' (case-insensitive)."""
    return _HRESULTS.get(hresult.strip().lower(), _UNKNOWN_HRESULT)


def describe_hresult(hresult: str, message: str) -> str:
    """One line for an admin: what happened and how to fix it."""
    explanation = explain_hresult(hresult)
    said = f' (QuickBooks said: "{message.strip()}")' if message and message.strip() else ""
    meaning = explanation.meaning[:1].upper() + explanation.meaning[1:]
    return f"{meaning} [{hresult}]{said}. Fix: {explanation.fix}"


# -- qbXML status codes (the statusCode of each *Rs) -------------------------------------------

_STATUS: dict[int, Explanation] = {
    0: Explanation(Outcome.DONE, "done", ""),
    1: Explanation(Outcome.DONE, "no records matched the query", ""),
    500: Explanation(Outcome.DONE, "some of the requested records were not found", ""),
    530: Explanation(Outcome.DONE, "done with a warning", ""),
    3000: Explanation(
        Outcome.NEEDS_ADMIN,
        "QuickBooks says an id we sent is not a valid ListID/TxnID",
        "The mirror holds an id QuickBooks does not accept; link the record again"
        " (e.g. re-link the customer to its QuickBooks ListID) and retry the job.",
    ),
    3100: Explanation(
        Outcome.NEEDS_ADMIN,
        "the name is already used by another record in QuickBooks",
        "Names must be unique across QuickBooks' customer, vendor, employee and other-name lists."
        " Link this record to the existing one, or rename one of them, then retry.",
    ),
    3120: Explanation(
        Outcome.NEEDS_ADMIN,
        "the record no longer exists in QuickBooks",
        "It was deleted or merged in QuickBooks; run `qbwc-server refresh TENANT ENTITY` and"
        " re-link the record if needed.",
    ),
    3140: Explanation(
        Outcome.WAIT_FOR_DEPENDENCY,
        "the request refers to something QuickBooks does not have (an item, customer, terms…)",
        "Create the missing record in QuickBooks (the message names it), or fix the mapping,"
        " then retry the job.",
    ),
    3170: Explanation(
        Outcome.RETRY,
        "QuickBooks could not save the change (the record is in use or the edit conflicts)",
        "Close any window editing this record in QuickBooks; the job is retried.",
    ),
    3175: Explanation(
        Outcome.RETRY,
        "the record is being edited by someone in QuickBooks",
        "Close the record in QuickBooks on every workstation; the job is retried.",
    ),
    3176: Explanation(
        Outcome.RETRY, "the record is in use in QuickBooks", "Close it in QuickBooks; the job is retried."
    ),
    3180: Explanation(
        Outcome.RETRY,
        "QuickBooks could not save the change to the list",
        "Usually a record open in another window; the job is retried. If it persists, run"
        " File > Utilities > Verify Data in QuickBooks.",
    ),
    3200: Explanation(
        Outcome.RETRY,
        "the record changed in QuickBooks since we last read it (stale EditSequence)",
        "Nothing to do: the record is read again and the change re-applied.",
    ),
    3231: Explanation(
        Outcome.RETRY,
        "QuickBooks did not process this request because an earlier one in the message failed",
        "See the other failed job of the same session; this one is retried.",
    ),
    3250: Explanation(
        Outcome.NEEDS_ADMIN,
        "this QuickBooks edition or version does not support the request",
        "Turn the feature on in QuickBooks (e.g. inventory, price levels, sales orders need"
        " Premier/Enterprise and the preference enabled), or turn this sync off for the tenant.",
    ),
    3261: Explanation(
        Outcome.NEEDS_ADMIN,
        "QuickBooks' permissions do not allow this application to do this",
        "Log into QuickBooks as Admin and allow this application full access under"
        " Edit > Preferences > Integrated Applications.",
    ),
    3391: Explanation(
        Outcome.RETRY,
        "QuickBooks' iterator for this query expired",
        "Nothing to do: the pull starts over and rewrites nothing that did not change.",
    ),
}


def explain_status(code: int, message: str = "") -> Explanation:
    """What a qbXML statusCode means for the job; unknown errors need an admin (with QuickBooks' words)."""
    known = _STATUS.get(code)
    if known is not None:
        return known
    if 3170 <= code <= 3180:
        return _STATUS[3170]
    return Explanation(
        Outcome.NEEDS_ADMIN,
        f"QuickBooks refused the request ({message.strip() or 'no message'})",
        "Read QuickBooks' message above; fix the record it names, then retry the job.",
    )
