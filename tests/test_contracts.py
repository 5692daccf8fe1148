"""Each contract is spelled once (vocab.contracts, ingest.specs); every other spelling follows it.

The models, the upload specs, the public serializers and the release's column
descriptions are held against the contracts here, so that any drift fails.
"""

from __future__ import annotations

import typing

import pyarrow as pa
from django.db import models

from dashboard.api import ShowerOut
from follow.public import ShowerSummary
from ingest.models import ExposureBlock, Hit, Shower
from ingest.release import COLUMNS, FILES
from ingest.specs import EXPOSURE_FIELDS, HIT_FIELDS
from vocab.contracts import (
    EXPOSURE_SCHEMA,
    HIT_SCHEMA,
    SHOWER_SCALARS,
    SHOWER_SCHEMA,
    UPLOAD_HIT_FIELDS,
)

DATABASE_ONLY = {"id", "device", "received_at"}  # the server's own columns
INTEGER = (models.IntegerField, models.BigIntegerField)


def model_fields(model: type[models.Model]) -> dict[str, models.Field]:  # type: ignore[type-arg]
    return {f.name: f for f in model._meta.concrete_fields}


def test_a_hit_is_the_upload_contract_in_the_database():
    fields = model_fields(Hit)
    assert tuple(f.name for f in HIT_FIELDS) == UPLOAD_HIT_FIELDS
    assert set(fields) - DATABASE_ONLY == set(UPLOAD_HIT_FIELDS)
    for spec in HIT_FIELDS:
        assert fields[spec.name].null == (not spec.required), spec.name
        assert isinstance(fields[spec.name], INTEGER) == (spec.kind == "int"), spec.name


def test_the_parquet_hit_is_a_stored_hit():
    fields = model_fields(Hit)
    for column in HIT_SCHEMA:
        if column.name in ("hit_id", "device_id"):
            continue
        assert fields[column.name].null == column.nullable, column.name


def test_an_exposure_block_is_its_upload_contract_in_the_database():
    fields = model_fields(ExposureBlock)
    assert set(fields) - DATABASE_ONLY == {f.name for f in EXPOSURE_FIELDS}
    for spec in EXPOSURE_FIELDS:
        assert fields[spec.name].null == (not spec.required), spec.name
    lake = {c.name: c for c in EXPOSURE_SCHEMA}
    assert set(lake) - {"device_id"} == {f.name for f in EXPOSURE_FIELDS}
    for spec in EXPOSURE_FIELDS:
        assert lake[spec.name].nullable == (not spec.required), spec.name


def test_a_stored_shower_has_every_column_of_the_shower_contract():
    fields = model_fields(Shower)
    assert set(SHOWER_SCALARS) <= set(fields)
    for column in SHOWER_SCHEMA:
        if column.name in SHOWER_SCALARS:
            field = fields[column.name]
            assert field.null == column.nullable, column.name
            assert isinstance(field, INTEGER) == pa.types.is_integer(column.type), column.name
    # The members: hit_ids through the hits relation, device_ids through their devices.
    assert Shower._meta.get_field("hits").related_model is Hit
    extra = set(fields) - set(SHOWER_SCHEMA.names)
    assert extra == {"search", "provisional", "updated_at"}, "the database's own columns"


def test_the_release_describes_every_column_it_writes_and_no_other():
    written = {name for schema in FILES.values() for name in schema.names}
    assert set(COLUMNS) == written


def test_the_public_shower_reply_is_documented_field_for_field():
    documented = set(ShowerOut().fields)
    assert documented == set(typing.get_type_hints(ShowerSummary))
