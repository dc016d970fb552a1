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


def explain_hresult(hresult: str) -> Explanation:
    """The meaning and fix for an HRESULT such as '0x80040408' (case-insensitive)."""
    return _HRESULTS.get(hresult.strip().lower(), _UNKNOWN_HRESULT)


def describe_hresult(hresult: str, message: str) -> str:
    """One line for an admin: what happened and how to fix it."""
    explanation = explain_hresult(hresult)
    said = f' (QuickBooks said: "{message.strip()}")' if message and message.strip() else ""
    meaning = explanation.meaning[:1].upper() + explanation.meaning[1:]
    return f"{meaning} [{hresult}]{said}. Fix: {explanation.fix}"
