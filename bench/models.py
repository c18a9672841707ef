"""The message models every variant validates into, so all three do the same work."""

from pydantic import BaseModel, Field, NonNegativeFloat

__all__ = ("DataBasic", "Padded", "bump", "bump_padded", "padded_payload")


class DataBasic(BaseModel):
    """One reading, as in the demo app."""

    data: NonNegativeFloat = Field(..., examples=[0.5])


class Padded(DataBasic):
    """A reading with a filler string, for the payload-size runs; the filler travels on."""

    pad: str


def padded_payload(size: int, data: float = 0.5) -> bytes:
    """A ``Padded`` JSON body of exactly ``size`` bytes (at least the empty-filler size)."""
    empty = Padded(data=data, pad="").model_dump_json().encode()
    return Padded(data=data, pad="x" * max(size - len(empty), 0)).model_dump_json().encode()


def bump(msg: DataBasic) -> DataBasic:
    """The job: add one to the reading."""
    return DataBasic(data=msg.data + 1.0)


def bump_padded(msg: Padded) -> Padded:
    """The job for padded readings: add one, keep the filler."""
    return Padded(data=msg.data + 1.0, pad=msg.pad)
