from typing import Any

from rest_framework import serializers


class IdField(serializers.IntegerField):
    """A row id parameter: ``""`` is *blank*; anything but a positive bigint is *invalid*."""

    def __init__(self, *, invalid: str, blank: str, **kwargs: Any) -> None:
        messages = dict.fromkeys(
            ("invalid", "max_string_length", "min_value", "max_value"), invalid
        )
        super().__init__(
            min_value=1, max_value=2**63 - 1, error_messages={**messages, "blank": blank}, **kwargs
        )

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if isinstance(data, str) and not data.strip():
            self.fail("blank")
        return super().validate_empty_values(data)
