"""Intuit's qbXML 13.0 schema for tests: validate whole documents, with readable errors."""

from __future__ import annotations

import functools

from lxml import etree

from tests.conftest import shared_file


@functools.cache
def _schema() -> etree.XMLSchema:
    path = shared_file("QBXML_XSD", "qbxml/qbxmlops130.xsd")
    return etree.XMLSchema(etree.parse(str(path)))


def assert_valid_qbxml(document: str) -> None:
    """Fail with every schema error when `document` is not valid qbXML 13.0 (order included)."""
    schema = _schema()
    root = etree.fromstring(document.split("?>", 2)[-1].encode())  # after <?xml?> and <?qbxml?>
    if not schema.validate(root):
        errors = "\n".join(f"  line {e.line}: {e.message}" for e in schema.error_log)
        raise AssertionError(f"not valid against qbxmlops130.xsd:\n{errors}\n{document}")
