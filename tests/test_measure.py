"""OpenHTF-style measurements: limits, marginal band, the message of a failure."""

from __future__ import annotations

import pytest

from evrig.fixtures.measurements import Measure, judge
from evrig.fixtures.session import measurements_of


@pytest.mark.parametrize(("value", "verdict"), [
    (7.9, "FAIL"), (8.0, "PASS"), (9.0, "PASS"), (10.0, "PASS"), (10.01, "FAIL"),
])
def test_limits_are_inclusive(value, verdict):
    assert judge(value, 8.0, 10.0) == verdict


def test_one_sided_limits_and_no_limits():
    assert judge(5.0, None, 6.0) == "PASS"
    assert judge(7.0, None, 6.0) == "FAIL"
    assert judge(-1.0, 0.0, None) == "FAIL"
    assert judge(1e9, None, None) == "PASS"
    assert judge(float("nan"), None, None) == "FAIL"


def test_marginal_passes_but_is_flagged():
    m = Measure()
    result = m("offered_a", 31.6, low=31.0, high=33.0, unit="A", marginal_low=31.7)
    assert result.verdict == "MARGINAL" and result.passed
    assert m("offered_a", 32.0, low=31.0, high=33.0, unit="A", marginal_low=31.7).verdict == "PASS"


def test_out_of_range_fails_naming_name_value_limits_and_unit():
    props: list[tuple[str, object]] = []
    m = Measure(props, now=lambda: 12.5)
    with pytest.raises(AssertionError) as info:
        m("cp_high_v", 10.4, low=8.0, high=10.0, unit="V")
    message = str(info.value)
    for part in ("cp_high_v", "10.4 V", "[8, 10] V", "FAIL"):
        assert part in message
    # Recorded even though it failed: the unit record shows what was measured.
    assert m.records[0].verdict == "FAIL" and m.records[0].t == 12.5
    assert props == [("measurement.cp_high_v", str(m.records[0]))]


def test_inverted_limits_are_a_test_bug():
    with pytest.raises(ValueError, match="low limit"):
        Measure()("x", 1.0, low=2.0, high=1.0)


def test_the_fixture_records_into_user_properties(measure, request):
    measure("duty_pct", 53.3, low=52.8, high=53.9, unit="%")
    assert ("measurement.duty_pct", "duty_pct = 53.3 % (PASS, limits [52.8, 53.9] %)") \
        in request.node.user_properties
    assert measurements_of(request.node)[0].value == 53.3
