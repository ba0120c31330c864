"""The base of every emulator model with a JSON form: camelCase keys made by pydantic's alias generator.

A model's attributes are snake_case (``created_ms``); its JSON, in the state file and the admin API, is
camelCase (``createdMs``). Either spelling is read back (``populate_by_name``), so state files written
with snake_case keys still load.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """A model whose JSON keys are its attribute names in camelCase."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def to_json(self, exclude_none: bool = False) -> dict[str, Any]:
        """The model's JSON form (camelCase keys).

        :param exclude_none: leave out the attributes that are ``None``.
        """
        return self.model_dump(mode="json", by_alias=True, exclude_none=exclude_none)
