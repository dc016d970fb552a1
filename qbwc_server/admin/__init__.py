"""Admin operations: what the CLI (`cli/`) and the JSON API (`api/`) both call.

One module per subject: tenants, jobs, status, pulls, reps, settings. Each function takes a
SQLAlchemy `Connection` (the caller owns the transaction), returns frozen dataclasses, and
raises a `QbwcError` subclass whose message says what went wrong in plain words and whose
`code` the API maps to its error body. Nothing here parses arguments, prints or speaks HTTP.
"""
