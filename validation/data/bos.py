"""The BOS token every context starts with: one type from the command line to the report.

A `Bos` is the rule asked for (`--bos`: "auto", a BOS when the tokenizer puts one
first; "always", the tokenizer's BOS token in any case; "never") and, once resolved
against a model (`LoadedModel.resolve_bos`), the token id used (None: no BOS). With a
BOS, every context, full or kept, starts with it at position 0, outside the budget: it
takes `int(bos)` (0 or 1) cache entries, and policies count positions after it.
"""

from __future__ import annotations

from dataclasses import dataclass

BOS_RULES = ("auto", "always", "never")


@dataclass(frozen=True)
class Bos:
    """A BOS rule and, once resolved against a model, its token (None: no BOS)."""

    rule: str = "auto"
    token: int | None = None

    def __post_init__(self) -> None:
        if self.rule not in BOS_RULES:
            raise ValueError(f"bos must be one of {', '.join(BOS_RULES)}; got {self.rule!r}")
        if self.rule == "never" and self.token is not None:
            raise ValueError(f"bos rule 'never' has no token; got {self.token!r}")

    @classmethod
    def of(cls, value: Bos | str) -> Bos:
        """A Bos from itself or from its rule."""
        return value if isinstance(value, Bos) else cls(value)

    def __bool__(self) -> bool:
        return self.token is not None

    def __index__(self) -> int:
        """The cache entries the BOS takes: 1 when there is one, else 0 (so `t - int(bos)` counts text)."""
        return int(self.token is not None)

    def describe(self) -> str:
        """In words, for the reports."""
        if self.rule == "auto":
            return f"tokenizer adds BOS (id {self.token})" if self else "no BOS added"
        if self.rule == "always":
            return f"BOS (id {self.token}) put first in every context (--bos always)"
        return "no BOS (--bos never)"
