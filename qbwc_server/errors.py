"""The root of every error qbwc-server raises on purpose, with a stable code per class.

Each class lives beside the code that raises it and subclasses `QbwcError`; the tree below is
the one place that shows them all. `code` is a stable snake_case word: the API's JSON errors
and the CLI's one-line messages use it, so renaming a class never changes what clients see.

    QbwcError                         internal_error
     ├── ConfigError                  config_invalid        config.py: a malformed environment setting
     ├── TenantSettingsError          validation_failed     config.py: a tenant setting out of bounds
     ├── DatabaseError                database_unavailable  db.py: a driver error, translated at the boundary
     ├── QueueError                   conflict              queue/: unknown job, or not in a state for that
     ├── QbxmlError                   qbxml_invalid         qbxml/core.py
     │    ├── QbxmlParseError         qbxml_unreadable      not well-formed XML (keeps the raw text)
     │    ├── QbxmlValueError         qbxml_invalid_value   a value no QuickBooks writes (names the element)
     │    └── BuildError              validation_failed     qbxml/formats.py: a value we cannot send
     │                                                      (names the field and the limit)
     ├── TenantError                  bad_request           admin/tenants.py: name in use, empty name, …
     │    └── TenantNotFound          not_found             no tenant of that name
     ├── JobNotFound                  not_found             admin/jobs.py
     ├── JobListError                 validation_failed     admin/jobs.py: a listing limit out of bounds
     ├── RepError                     bad_request           admin/reps.py: a rep code or email refused
     ├── BodyError                    bad_request           webconnector/body.py: a request body not taken
     │    ├── BodyTooLarge            payload_too_large     past QBWC_MAX_BODY_MB (413)
     │    ├── BodyTimeout             request_timeout       arriving too slowly (408)
     │    └── LengthRequired          length_required       chunked where it cannot be read (411)
     ├── QwcError                     bad_request           webconnector/qwc.py: a .qwc that cannot be written
     ├── WeakPasswordError            validation_failed     webconnector/auth.py
     ├── ApiError                     (its own code)        api/routing.py: an API answer's error body, with
     │                                                      its HTTP status (api/errors.py maps the rest)
     ├── UnknownEntity                bad_request           sync/schedule.py: refresh of an entity not pulled
     └── RecordError                  (per subclass)        admin/record_reads.py: a customer, order, payment
          ├── RecordNotFound          not_found             no record of that kind has that id
          ├── RecordInvalid           validation_failed     an unknown customer_id/order_id, a ListID taken
          └── RecordConflict          conflict              a change QuickBooks' state forbids

Errors of the simulators (simulator/) are not in this tree: they play QuickBooks and the Web
Connector, and are never raised by the service itself.
"""

from __future__ import annotations

from typing import ClassVar


class QbwcError(Exception):
    """Something qbwc-server could not do as asked; the message says why in plain words."""

    #: Stable, snake_case; API error bodies and logs carry it.
    code: ClassVar[str] = "internal_error"
