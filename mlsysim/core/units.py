"""One pint unit registry for the whole package.

Named units make quantities say what they count: ``flop`` (a floating-point
operation; 2 per multiply-accumulate), ``token``, ``byte`` and ``count``
(pint's dimensionless count, so ``Q_(1.76e12, "count").to("Gcount")`` works).
pint treats information as dimensionless; here ``bit`` (and so ``byte``, ``GB``,
``GB/s``) gets its own dimension, so a byte count can never be passed where a
parameter count or a bandwidth is expected. Money is its own dimension, ``USD``,
so dollars never add to anything else.

pint is imported here and nowhere earlier, so ``import mlsysim`` stays light
until a quantity is first needed.
"""
from __future__ import annotations

import pint

ureg = pint.UnitRegistry(on_redefinition="ignore")
# Give information its own dimension. pint has no public switch for this; the
# cache must be rebuilt after redefining a base unit (tests/test_units.py
# checks the result: GB -> bit converts, GB -> count raises).
ureg.define("bit = [information]")
ureg._build_cache()
ureg.define("flop = [computation] = FLOP")
ureg.define("token = [token] = tok")
ureg.define("USD = [currency] = dollar")
ureg.formatter.default_format = "~P"

Q_ = ureg.Quantity
Quantity = ureg.Quantity

__all__ = ["ureg", "Q_", "Quantity"]
