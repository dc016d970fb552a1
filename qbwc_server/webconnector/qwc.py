"""The .qwc file an admin opens in the Web Connector ("Add an application")."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

from lxml import etree

from qbwc_server.errors import QbwcError

#: Hosts the Web Connector accepts over plain http (everything else must be https).
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class QwcError(QbwcError, ValueError):
    """The .qwc cannot be made as asked (e.g. a non-https URL for a remote host)."""

    code = "bad_request"


def _guid(value: uuid.UUID) -> str:
    return "{" + str(value).upper() + "}"


def is_local_url(url: str) -> bool:
    """True when `url` names this machine: fine for trying things, useless on another PC."""
    try:
        return urlsplit(url).hostname in LOCAL_HOSTS
    except ValueError:
        return False


def check_app_url(url: str) -> str:
    """The Web Connector refuses http:// except on localhost; catch that before the admin does."""
    try:
        parts = urlsplit(url)
        hostname, _ = parts.hostname, parts.port  # a bad port or IPv6 literal raises here
    except ValueError:
        hostname = None
    if hostname is None or parts.scheme not in ("http", "https"):
        raise QwcError(f"AppURL must be an absolute http(s) URL, got {url!r}")
    if parts.scheme == "http" and hostname not in LOCAL_HOSTS:
        raise QwcError(
            f"the Web Connector only accepts https:// for remote servers; got {url!r}"
            " (put qbwc-server behind a TLS proxy, see README)"
        )
    return url


def build_qwc(
    *,
    tenant_name: str,
    username: str,
    owner_id: uuid.UUID,
    file_id: uuid.UUID,
    app_url: str,
    run_every_minutes: int = 1,
) -> str:
    """The .qwc XML for one tenant; AppSupport points at the same host, as the Web Connector requires."""
    check_app_url(app_url)
    parts = urlsplit(app_url)
    support = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    root = etree.Element("QBWCXML")
    for tag, value in (
        ("AppName", f"WizCommerce Sync ({tenant_name})"),
        ("AppID", ""),
        ("AppURL", app_url),
        ("AppDescription", f"Keeps {tenant_name}'s QuickBooks company in sync with WizCommerce"[:80]),
        ("AppSupport", support),
        ("UserName", username),
        ("OwnerID", _guid(owner_id)),
        ("FileID", _guid(file_id)),
        ("QBType", "QBFS"),
    ):
        etree.SubElement(root, tag).text = value
    scheduler = etree.SubElement(root, "Scheduler")
    etree.SubElement(scheduler, "RunEveryNMinutes").text = str(run_every_minutes)
    etree.SubElement(root, "IsReadOnly").text = "false"
    return str(etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="utf-8").decode())
