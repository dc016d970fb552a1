"""qbXML: building requests and reading responses. Pure XML; knows nothing of the database."""
