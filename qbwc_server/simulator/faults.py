"""The simulated Web Connector's fault switches: which requests lose their response, get an HRESULT
instead of one, or end the session, decided deterministically (seeded) so a failing run repeats.
Knows request numbers and documents; the session (webconnector.py) acts on the decisions.

Requests are numbered 1, 2, 3, … across every session one `SimulatedWebConnector` runs, in the order
sendRequestXML handed them out; deciders see that number and the request document.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

#: Decides from (request number, request document) whether the fault hits that request.
RequestDecider = Callable[[int, str], bool]
#: Decides from (request number, request document) which (HRESULT, message) replaces its response.
HresultDecider = Callable[[int, str], "tuple[str, str] | None"]

#: What the Web Connector reports when QuickBooks cannot be started (connectionError).
QUICKBOOKS_NOT_RUNNING = ("0x80040408", "Could not start QuickBooks.")
_WRITE_TAGS = ("AddRq", "ModRq")


def lose_writes(probability: float, seed: int = 0) -> RequestDecider:
    """A `lose_responses` decider that loses only documents with an Add or Mod, with `probability`."""
    draw = random.Random(seed).random

    def decide(number: int, request_xml: str) -> bool:
        return any(tag in request_xml for tag in _WRITE_TAGS) and draw() < probability

    return decide


@dataclass
class Faults:
    """The fault switches of one simulated Web Connector (see SimulatedWebConnector's arguments)."""

    #: Probability, or a decider, that a response QuickBooks produced never reaches the server.
    lose_responses: float | RequestDecider = 0.0
    #: After a lost response: "close" calls closeConnection; "stop" ends the session without it.
    after_lost_response: Literal["close", "stop"] = "close"
    #: End each session after this many answered requests, at the next one, without closeConnection.
    abandon_after: int | None = None
    #: Whether QuickBooks processed the request the session was abandoned at (its answer never sent).
    abandon_processed: bool = False
    #: Request number -> (HRESULT, message), or a decider: that request is not processed and
    #: receiveResponseXML carries the HRESULT with an empty response.
    hresults: Mapping[int, tuple[str, str]] | HresultDecider | None = None
    #: openConnection fails with 0x80040408 "Could not start QuickBooks." (connectionError).
    quickbooks_not_running: bool = False
    seed: int = 0
    _draw: Callable[[], float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.after_lost_response not in ("close", "stop"):
            raise ValueError(
                f"after_lost_response must be 'close' or 'stop', not {self.after_lost_response!r}"
            )
        self._draw = random.Random(self.seed).random

    def loses(self, number: int, request_xml: str) -> bool:
        """Whether the response to this (processed) request is lost."""
        if callable(self.lose_responses):
            return self.lose_responses(number, request_xml)
        # One draw per request even at 0, so changing the probability keeps later draws aligned.
        return self._draw() < self.lose_responses

    def hresult(self, number: int, request_xml: str) -> tuple[str, str] | None:
        """The (HRESULT, message) sent instead of this request's response, if any."""
        if self.hresults is None:
            return None
        if callable(self.hresults):
            return self.hresults(number, request_xml)
        return self.hresults.get(number)

    def abandons(self, answered_in_session: int) -> bool:
        """Whether the session vanishes now, having answered this many requests."""
        return self.abandon_after is not None and answered_in_session >= self.abandon_after
