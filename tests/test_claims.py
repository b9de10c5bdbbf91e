"""mlsysim.exercises.claim: the check behind every number a chapter states in its title,
subtitle or description. The real function, not a copy: a claim that never raises would let a
stale headline through."""
import math

import pytest

from mlsysim import Q_
from mlsysim.exercises import Claim, ClaimError, claim


def test_claim_holds_inside_its_tolerance():
    # 9.3M against a stated 9M: 3.3% off, inside 5%
    held = claim("title: $9M", 9.3e6, 9e6)
    assert isinstance(held, Claim) and held.value == 9.3e6 and held.stated == 9e6 and held.rel == 0.05
    assert "claim holds: title: $9M" in repr(held)
    # exactly on the edge (exact in binary): |10 - 8| = 2 = 25% of 8
    assert claim("edge", 10.0, 8.0, rel=0.25).value == 10.0


@pytest.mark.parametrize("value, stated, rel", [
    (9.5e6, 9e6, 0.05),      # 5.6% high
    (8.5e6, 9e6, 0.05),      # 5.6% low
    (12.0, 10.0, 0.1),       # 20% off a 10% tolerance
    (-9.0, 10.0, 0.5),       # the wrong sign
    (math.nan, 10.0, 0.5),   # no number at all
])
def test_claim_raises_outside_its_tolerance(value, stated, rel):
    with pytest.raises(ClaimError) as info:
        claim("subtitle: energy", value, stated, rel=rel)
    message = str(info.value)
    assert "claim 'subtitle: energy' no longer holds" in message and "Update the text" in message
    assert isinstance(info.value, AssertionError)      # a failing claim fails its cell, and so its chapter


def test_claim_tolerance_is_relative_to_the_stated_number():
    # 5% of a negative stated number is still 5% of its size
    assert claim("saving", -0.97, -1.0).value == -0.97
    with pytest.raises(ClaimError):
        claim("saving", -0.9, -1.0)


def test_claim_reads_quantities_in_their_own_unit():
    assert claim("latency", Q_(20.5, "ms"), 20).value == 20.5
    with pytest.raises(ClaimError, match="engine gives 0.0205"):
        claim("latency", Q_(20.5, "ms").to("s"), 20)
