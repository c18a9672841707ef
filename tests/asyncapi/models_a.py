"""Models of the orders side; ``Item`` shares its name with :mod:`models_b`'s on purpose."""

from pydantic import BaseModel, Field


class Item(BaseModel):
    """One line of an order."""

    sku: str = Field(examples=["SKU-1"], description="Stock keeping unit")
    quantity: int = Field(ge=1, examples=[2])
