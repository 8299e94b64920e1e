"""Units: 亩, hm², km² and parsing of users' strings (1 hm² = 15 亩 = 10 000 m², DESIGN.md)."""

import pytest

from restora.units import parse_quantity, to_hm2, ureg


def test_mu_is_two_thousand_thirds_m2():
    assert ureg.Quantity(1, "mu").to("m**2").magnitude == pytest.approx(2000 / 3, rel=1e-12)
    assert ureg.Quantity(1, "hm2").to("mu").magnitude == pytest.approx(15.0, rel=1e-12)
    assert ureg.Quantity(1, "亩").to("m**2").magnitude == pytest.approx(666.6667, rel=1e-6)


@pytest.mark.parametrize(
    ("text", "hm2"),
    [
        ("1,200 亩", 80.0),  # 1200 / 15
        ("35.5 hm2", 35.5),
        ("35.5 hm²", 35.5),
        ("0.8 km²", 80.0),
        ("0.8 km2", 80.0),
        ("12 公顷", 12.0),
        ("5000 平方米", 0.5),
        ("2,500,000 m2", 250.0),
        ("3 ha", 3.0),
    ],
)
def test_parse_areas(text, hm2):
    assert to_hm2(text) == pytest.approx(hm2, rel=1e-12)


def test_money_and_emissions():
    assert parse_quantity("3 万元").to("CNY").magnitude == pytest.approx(30000)
    assert parse_quantity("95.96 CNY/tCO2e").to("CNY/t").magnitude == pytest.approx(95.96)
    assert parse_quantity("1200 元/年").check("[currency]/[time]")
    assert parse_quantity("5 m³").to("m**3").magnitude == 5


@pytest.mark.parametrize("bad", ["", "abc", "12 furlongs^", "1,2,3 mu", "亩"])
def test_bad_strings_are_clear_errors(bad):
    with pytest.raises(ValueError):
        to_hm2(bad)


def test_bare_number_needs_default_unit():
    with pytest.raises(ValueError, match="no unit"):
        to_hm2("12")
    assert to_hm2("12", default_unit="mu") == pytest.approx(0.8)


def test_non_area_refused():
    with pytest.raises(ValueError, match="not an area"):
        to_hm2("12 m3")
