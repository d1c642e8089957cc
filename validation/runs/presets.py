"""The presets of `wzbounds validate`: what each measures (the sizes are in `validation.validate`'s doc).

Every preset spends its budget on independent documents (the bootstrap unit), one
target at the end of each prefix. The sliding window and recompute mode are always
measured: every claim rests on them.
"""

from __future__ import annotations

from dataclasses import replace

from validation.runs.protocol import Protocol

DOMAINS = ("natural", "code")
PRESETS = ("quick", "standard", "full")


def _powers(top: int, bottom: int = 1) -> tuple[int, ...]:
    return tuple(2**k for k in range(20) if bottom <= 2**k <= top)


def presets(preset: str, model: str, max_positions: int, dtype: str = "float32", *, policies=None,
            modes=None, bos: str = "auto") -> dict[str, Protocol]:
    """The protocols of a preset by part name ("main", and "online" when online is measured); `bos`
    as in `Protocol` (auto, always, never)."""
    if preset == "quick":
        main = Protocol(model=model, policies=("sliding", "sink", "random", "heavy"), modes=("recompute", "evict"),
                        positions=("preserved", "reindexed"), reindex=("sliding",), budgets=_powers(64),
                        prefixes=32, prefix_length=256, targets=1, dtype=dtype)
        online_budgets = (8, 16, 32, 64)
    elif preset == "standard":
        main = Protocol(model=model, policies=("sliding", "sink", "random", "heavy", "h2o", "snapkv"),
                        modes=("recompute", "evict"), positions=("preserved", "reindexed"), reindex=("sliding",),
                        budgets=_powers(512), prefixes=32, prefix_length=1024, targets=1, dtype=dtype)
        online_budgets = (8, 32, 128, 512)
    elif preset == "full":
        length = min(max_positions or 8192, 8192)
        main = Protocol(model=model, policies=("sliding", "sink", "random", "heavy", "h2o", "snapkv"),
                        modes=("recompute", "evict"), positions=("preserved", "reindexed"), reindex=("sliding",),
                        budgets=_powers(length // 2), prefixes=100, prefix_length=length, targets=1, dtype=dtype)
        online_budgets = _powers(length // 2, 8)
    else:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {preset!r}")
    wants_online = preset != "quick"
    if policies is not None:
        chosen = tuple(dict.fromkeys(("sliding", *policies)))
        main = replace(main, policies=chosen, reindex=("sliding",))
    if modes is not None:
        bad = sorted(set(modes) - {"recompute", "evict", "online"})
        if bad:
            raise ValueError(f"modes must be among recompute, evict, online; got {bad}")
        main = replace(main, modes=tuple(dict.fromkeys(("recompute", *(m for m in modes if m != "online")))))
        wants_online = "online" in modes
    main = replace(main, bos=bos)
    parts = {"main": main}
    static = tuple(p for p in main.policies if main.policy(p).static_online)
    if wants_online and static:
        parts["online"] = replace(main, policies=static, modes=("online",), positions=("preserved",), reindex=None,
                                  budgets=online_budgets)
    return parts
