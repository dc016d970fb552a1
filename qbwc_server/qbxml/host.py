"""The HCP response the Web Connector sends on a session's first sendRequestXML (HostQueryRs)."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from qbwc_server.qbxml.core import QbxmlVersion, parse_xml, response_messages


@dataclass(frozen=True)
class HostInfo:
    """What QuickBooks told us about itself."""

    product: str | None
    version: str | None
    country: str | None
    supported_versions: tuple[QbxmlVersion, ...]

    @classmethod
    def from_hcp_response(cls, text: str) -> HostInfo:
        """Read HostRet; tolerate missing pieces (older QuickBooks omit some)."""
        return cls.from_messages(response_messages(parse_xml(text)))

    @classmethod
    def from_messages(cls, messages: list[etree._Element]) -> HostInfo:
        """The same, from the HCP response's messages already parsed (read once per session)."""
        for message in messages:
            host = message.find("HostRet") if message.tag == "HostQueryRs" else None
            if host is None:
                continue
            major, minor = host.findtext("MajorVersion"), host.findtext("MinorVersion")
            versions = (QbxmlVersion.parse(e.text or "") for e in host.iterfind("SupportedQBXMLVersion"))
            return cls(
                product=host.findtext("ProductName"),
                version=f"{major}.{minor or 0}" if major else None,
                country=host.findtext("Country"),
                supported_versions=tuple(sorted(v for v in versions if v is not None)),
            )
        return cls(product=None, version=None, country=None, supported_versions=())
