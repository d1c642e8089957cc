"""kvpress presses in evict mode: x_0..x_{t-1} prefilled under the press, then x_t.

A press compresses each layer's cache after that layer has attended, so the
prefill's hidden states do not depend on the compression ratio: one plain prefill
per target is recorded and the press's hook replayed per budget ("replay"); one
prefill under the press per budget is the reference ("prefill").
"""

from __future__ import annotations

from collections.abc import Sequence

from validation.engine.forward import Forward
from validation.engine.laws import PrefixContext, _torch


class PressReplay(Forward):
    """The press side of evict mode (`EvictMode.evict` dispatches presses here)."""

    def _evict_press(self, ctx: PrefixContext, policy, budgets: Sequence[int], method: str):
        """Per (t, k): x_0..x_{t-1} prefilled under the kvpress press at the budget's compression
        ratio (validation.policies.presses), then x_t at position id t against the compressed cache.

        method "replay" (and "auto"): one plain prefill per target, whose attention layers' calls
        are recorded; per budget the press's own forward hook is replayed on each recorded call
        over a fresh copy of the full cache. A press compresses each layer's cache after that
        layer has attended, so the prefill's hidden states do not depend on the ratio and the
        replay compresses exactly what a prefill under the press would. "prefill": one prefill
        under the press per budget, the reference."""
        torch = _torch()
        from transformers import DynamicCache

        ids = torch.as_tensor(ctx.tokens, device=self.device)[None]
        for t in ctx.targets:
            calls = full = None
            if method != "prefill":  # recorded once per target, shared by every press of the prefix
                if t not in ctx._recorded:
                    ctx._recorded[t] = self._recorded_prefill(ids[:, :t])
                calls, full = ctx._recorded[t]
            for k in budgets:
                press = policy.at(t, int(k), ctx.bos)
                try:  # presses that draw (Random, LeverageScore sketches) draw the same in both engines and runs
                    with torch.inference_mode(), torch.random.fork_rng(devices=self._rng_devices()):
                        torch.manual_seed(int(t) * 100_003 + int(k))
                        if calls is None:
                            cache = DynamicCache()
                            with press(self.model):
                                self.model(input_ids=ids[:, :t], past_key_values=cache, use_cache=True, logits_to_keep=1)
                        else:
                            cache = DynamicCache(ddp_cache_data=[(key.clone(), value.clone()) for key, value in full])
                            with press(self.model):
                                for module, args, kwargs, output in calls:
                                    press.forward_hook(module, args, {**kwargs, "past_key_values": cache}, output)
                        out = self.model(input_ids=ids[:, t : t + 1], position_ids=torch.tensor([[t]], device=self.device),
                                         past_key_values=cache, use_cache=True, logits_to_keep=1)
                finally:
                    for module in self.model.modules():  # head-wise presses leave masks for the next decode
                        if getattr(module, "masked_key_indices", None) is not None:
                            module.masked_key_indices = None
                yield [(t, int(k))], out.logits[:, -1]

    def _rng_devices(self) -> list[int]:
        return [self.device.index or 0] if self.device.type == "cuda" else []

    def _recorded_prefill(self, ids):
        """A plain prefill of `ids`: every attention layer's call (module, args, kwargs, output), in
        order, and the full cache, (keys, values) per layer."""
        torch = _torch()
        from transformers import DynamicCache

        base = getattr(self.model, "model", None)
        layers = getattr(getattr(base, "language_model", base), "layers", None)
        if layers is None or not all(hasattr(layer, "self_attn") for layer in layers):
            raise ValueError(f"model {self.lm.name!r} has no model.layers[i].self_attn, where kvpress hooks its "
                             "presses (Llama, Qwen, Mistral, Gemma 3, Phi-3 have them; GPT-2 does not)")
        calls = []

        def record(module, args, kwargs, output):
            calls.append((module, args, dict(kwargs), output))

        handles = [layer.self_attn.register_forward_hook(record, with_kwargs=True) for layer in layers]
        cache = DynamicCache()
        try:
            with torch.inference_mode():
                self.model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
        finally:
            for handle in handles:
                handle.remove()
        return calls, [(layer.keys, layer.values) for layer in cache.layers]

