"""The commerce side's JSON API at /api/v1 (contract: ../shared/API.md).

Routes are declared as data (`routing.Route`) by one module per concern; `app.py` mounts them
on Falcon and generates `/api/v1/openapi.json` from the same declarations and their models.
"""
