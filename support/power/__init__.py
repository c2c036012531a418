"""Power models. There is no RAPL here, so power is *modeled*, never measured."""

from support.power.linear import LinearPowerModel

__all__ = ["LinearPowerModel"]
