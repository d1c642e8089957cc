"""What users test their own policies with: `check_policy`, the contract every policy keeps.

    checks      the checks of the kept sets and declarations (no model), and `check_policy`
    engine      the checks on a model: the policy run through the engine in its modes
    tiny        the packaged tiny Llama and byte tokenizer they run on (no download)
"""

from validation.testing.checks import PolicyReport, check_policy, policy_checks

__all__ = ["PolicyReport", "check_policy", "policy_checks"]
