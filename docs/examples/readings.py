"""The messages of the thermometer service: what it reads and what it writes."""

from pydantic import BaseModel, Field


class Celsius(BaseModel):
    """One reading of one sensor."""

    sensor: str = Field(examples=["kitchen"], description="Where the sensor is")
    celsius: float = Field(
        ge=-273.15, examples=[21.5], description="Degrees Celsius"
    )


class Fahrenheit(BaseModel):
    """The same reading in degrees Fahrenheit."""

    sensor: str
    fahrenheit: float
