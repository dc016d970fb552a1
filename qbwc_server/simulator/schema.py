"""Intuit's qbXML 13.0 XSD, found and loaded once per process, for validating whole <QBXML> documents.
Knows where the XSD lives and what it allows; nothing of companies or requests.

Looked up in `QBXML_XSD`, then `../shared/qbxml/qbxmlops130.xsd` beside the repository (from this
package's source tree, then from the current directory). Missing, validation is off with one
logged warning, and `available()` says so: the demo runs on machines without ../shared.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import cache
from pathlib import Path

from lxml import etree

log = logging.getLogger(__name__)

XSD_NAME = "qbxmlops130.xsd"
_XSD_NS = "{http://www.w3.org/2001/XMLSchema}"
_lock = threading.Lock()


def candidates() -> list[Path]:
    """Where the XSD is looked for, in order."""
    paths = [Path(os.environ["QBXML_XSD"])] if os.environ.get("QBXML_XSD") else []
    repository = Path(__file__).resolve().parents[2]
    paths.append(repository.parent / "shared" / "qbxml" / XSD_NAME)
    paths.append(Path.cwd().parent / "shared" / "qbxml" / XSD_NAME)
    paths.append(Path.cwd() / "shared" / "qbxml" / XSD_NAME)
    return paths


@cache
def xsd_path() -> Path | None:
    found = next((path for path in candidates() if path.is_file()), None)
    if found is None:
        log.warning(
            "qbXML schema not found (looked in %s): validation is off", ", ".join(map(str, candidates()))
        )
    return found


@cache
def _schema() -> etree.XMLSchema | None:
    path = xsd_path()
    return None if path is None else etree.XMLSchema(etree.parse(str(path)))


def available() -> bool:
    """Whether the XSD was found, i.e. whether `validate` checks anything."""
    return _schema() is not None


def validate(document: etree._Element | etree._ElementTree) -> list[str]:
    """Schema errors of a whole <QBXML> document ([] when valid, or when the XSD is missing)."""
    schema = _schema()
    if schema is None:
        return []
    with _lock:  # an XMLSchema keeps its error log on itself: one validation at a time
        if schema.validate(document):
            return []
        return [f"line {error.line}: {error.message}" for error in schema.error_log]


@cache
def response_attributes() -> dict[str, frozenset[str]]:
    """The attributes each `*Rs` element may carry (e.g. whether it has retCount), from the XSD."""
    path = xsd_path()
    if path is None:
        return {}
    tree = etree.parse(str(path))
    types = {
        element.get("name"): frozenset(
            attribute.get("name") for attribute in element.iter(f"{_XSD_NS}attribute")
        )
        for element in tree.iter(f"{_XSD_NS}complexType")
        if element.get("name")
    }
    return {
        str(element.get("name")): types.get(element.get("type"), frozenset())
        for element in tree.iter(f"{_XSD_NS}element")
        if (element.get("name") or "").endswith("Rs")
    }
