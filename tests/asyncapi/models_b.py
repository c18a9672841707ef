"""Models of the stock side; ``Item`` shares its name with :mod:`models_a`'s on purpose."""

from pydantic import BaseModel, Field, computed_field


class Item(BaseModel):
    """A stock level."""

    sku: str = Field(examples=["SKU-1"])
    on_hand: int = Field(ge=0, examples=[10])
    reserved: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def available(self) -> int:
        """What can still be sold."""
        return self.on_hand - self.reserved
