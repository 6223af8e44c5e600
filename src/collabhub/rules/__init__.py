"""Information-sharing rules: compile, guard, plan, digest, remind, dispatch, preview, audit.

The sync engine builds a :class:`RulesEngine` from the loaded config and the store, calls
:meth:`RulesEngine.plan` after the pulls (changes -> outbox rows) and
:meth:`RulesEngine.dispatch` after that (outbox -> connector writers). The confidential guard in
:mod:`collabhub.rules.guard` is the only place that decides what a receiver may see.
"""

from collabhub.rules.dispatch import Dispatcher, DispatchResult, RetryPolicy
from collabhub.rules.engine import RulesEngine
from collabhub.rules.guard import SharedView, is_confidential, share
from collabhub.rules.planner import PlanResult
from collabhub.rules.ruleset import Receiver, Rule, RuleSet
from collabhub.rules.schema import RuleSpec

__all__ = [
    "DispatchResult",
    "Dispatcher",
    "PlanResult",
    "Receiver",
    "RetryPolicy",
    "Rule",
    "RuleSet",
    "RuleSpec",
    "RulesEngine",
    "SharedView",
    "is_confidential",
    "share",
]
