"""Reference data: every table has provenance; lookups pick the version in force."""

import datetime as dt
import textwrap

import pytest

from restora import refdata
from restora.errors import RestoraError


def test_every_table_has_source_and_unit():
    assert refdata.names(), "no reference tables shipped"
    assert refdata.missing_metadata() == {}


def test_every_table_loads_for_its_first_version():
    for name in refdata.names():
        versions = list(refdata.iter_versions(name))
        assert versions, name
        for v in versions:
            t = refdata.get(name, on=v.valid_from, region=v.region)
            assert t.source and t.unit is not None
            assert len(t.provenance()["sha256"]) == 64


@pytest.fixture
def user_tables(user_refdata):
    d = user_refdata / "test"
    d.mkdir(parents=True)
    (d / "rate.yaml").write_text(
        textwrap.dedent(
            """
            title: a test rate
            source: test fixture
            unit: CNY/m**3
            versions:
              - valid_from: 2020-01-01
                version: "2020"
                data: 10
              - valid_from: 2023-07-01
                version: "2023"
                data: 12
              - valid_from: 2021-01-01
                region: "430000"
                version: hunan-2021
                data: 11
              - valid_from: 2022-01-01
                valid_to: 2023-01-01
                region: "430521"
                version: county-2022
                data: 9
            """
        ),
        encoding="utf-8",
    )


def test_version_in_force_by_date(user_tables):
    assert refdata.get("test/rate", on="2020-06-01").data == 10
    assert refdata.get("test/rate", on="2023-06-30").data == 10
    assert refdata.get("test/rate", on=dt.date(2023, 7, 1)).data == 12


def test_region_falls_back_county_province_nation(user_tables):
    # county version valid only in 2022
    assert refdata.get("test/rate", on="2022-05-01", region="430521").version == "county-2022"
    # after its valid_to the province version applies
    assert refdata.get("test/rate", on="2023-02-01", region="430521").version == "hunan-2021"
    # another province falls back to national
    assert refdata.get("test/rate", on="2023-08-01", region="320102").data == 12
    # before the province version existed
    assert refdata.get("test/rate", on="2020-06-01", region="430521").data == 10


def test_no_version_in_force_is_an_error(user_tables):
    with pytest.raises(RestoraError, match="no version in force"):
        refdata.get("test/rate", on="2019-12-31")
    with pytest.raises(RestoraError, match="no reference table"):
        refdata.get("test/nope")
