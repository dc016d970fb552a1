"""The QuickBooks Web Connector side: SOAP service, session protocol, passwords, .qwc files."""
