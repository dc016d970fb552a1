"""Declarative base, naming convention and the reusable column types every model uses."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from sqlalchemy import BigInteger, DateTime, Identity, MetaData, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, mapped_column

#: Named constraints, so migrations can refer to them and autogenerate stays stable.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

bigint_pk = Annotated[int, mapped_column(BigInteger, Identity(always=True), primary_key=True)]
timestamp = Annotated[dt.datetime, mapped_column(DateTime(timezone=True))]
created_at = Annotated[dt.datetime, mapped_column(DateTime(timezone=True), server_default=func.now())]
updated_at = Annotated[
    dt.datetime, mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
]
int_zero = Annotated[int, mapped_column(server_default=text("0"))]


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {
        dt.datetime: DateTime(timezone=True),
        str: Text,
        dict[str, Any]: JSONB,
    }
