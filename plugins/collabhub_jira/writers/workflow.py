"""Moving an issue through its workflow: to a named status, or into a status category.

Jira moves issues only along the transitions the workflow offers from the current status. A
move the workflow does not offer is a ``WorkflowError`` (no retry) that names what it does offer,
and nothing is changed. A move into a category may take several transitions (To Do -> In
Progress -> In Review -> Done); each step picks a transition straight into the category, else
one that gets closer, else a sideways one to a status not visited yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collabhub.errors import WorkflowError
from collabhub.http import json_body
from collabhub_jira.errors import error_text

if TYPE_CHECKING:
    from collabhub_jira.writers.base import JiraWriter

__all__ = ["CATEGORY_KEYS", "move_to_category", "move_to_status"]

CATEGORY_KEYS = {"todo": "new", "in_progress": "indeterminate", "done": "done"}
_RANK = {"new": 0, "undefined": 0, "indeterminate": 1, "done": 2}
MAX_STEPS = 6


def _target(transition: dict[str, Any]) -> tuple[str, str]:
    to = transition.get("to") or {}
    return str(to.get("name", "")), str((to.get("statusCategory") or {}).get("key", ""))


def _offered(transitions: list[dict[str, Any]]) -> str:
    return ", ".join(f"{t.get('name')} -> {_target(t)[0]}" for t in transitions) or "none"


async def current_status(writer: JiraWriter, issue: str) -> tuple[str, str]:
    response = await writer.call("GET", f"issue/{issue}", params={"fields": "status"})
    status = (json_body(response, connector=writer.connector.name).get("fields") or {}).get("status") or {}
    return str(status.get("name", "")), str((status.get("statusCategory") or {}).get("key", ""))


async def _transitions(writer: JiraWriter, issue: str) -> list[dict[str, Any]]:
    response = await writer.call("GET", f"issue/{issue}/transitions")
    return list(json_body(response, connector=writer.connector.name).get("transitions") or [])


async def _apply(writer: JiraWriter, issue: str, transition: dict[str, Any]) -> None:
    response = await writer.call("POST", f"issue/{issue}/transitions", issue=issue, allow=(400,),
                                 json={"transition": {"id": str(transition["id"])}})
    if response.status_code == 400:
        raise WorkflowError(f"Jira refused transition '{transition.get('name')}' on {issue}: {error_text(response)}")


async def move_to_status(writer: JiraWriter, issue: str, *, status: str | None = None,
                         transition: str | None = None) -> tuple[str, str] | None:
    """One transition to the status (or by the transition name); ``None`` when already there.

    Returns ``(transition name, previous status)``.
    """
    name, _ = await current_status(writer, issue)
    if status and name.lower() == status.lower():
        return None
    offered = await _transitions(writer, issue)
    match = next((t for t in offered if (status and _target(t)[0].lower() == status.lower())
                  or (transition and str(t.get("name", "")).lower() == transition.lower())), None)
    if match is None:
        raise WorkflowError(f"Jira issue {issue} cannot move from '{name}' to '{status or transition}': the workflow "
                            f"offers only: {_offered(offered)}",
                            hint="change the rule's target status, or add the transition to the Jira workflow")
    await _apply(writer, issue, match)
    return str(match.get("name")), name


async def move_to_category(writer: JiraWriter, issue: str, category: str) -> list[str]:
    """Transitions until the issue's status is in ``category`` (todo / in_progress / done)."""
    wanted = CATEGORY_KEYS.get(category)
    if wanted is None:
        raise WorkflowError(f"unknown status category {category!r}; use todo, in_progress or done")
    name, key = await current_status(writer, issue)
    visited, taken = {name.lower()}, []
    for _ in range(MAX_STEPS):
        if key == wanted:
            return taken
        offered = await _transitions(writer, issue)
        distance = abs(_RANK.get(key, 0) - _RANK[wanted])
        step = (next((t for t in offered if _target(t)[1] == wanted), None)
                or next((t for t in offered if abs(_RANK.get(_target(t)[1], 0) - _RANK[wanted]) < distance), None)
                or next((t for t in offered if _target(t)[1] == key and _target(t)[0].lower() not in visited), None))
        if step is None:
            raise WorkflowError(f"Jira issue {issue} cannot reach a '{category}' status from '{name}': the workflow "
                                f"offers only: {_offered(offered)}")
        await _apply(writer, issue, step)
        name, key = _target(step)
        visited.add(name.lower())
        taken.append(str(step.get("name")))
    if key != wanted:
        raise WorkflowError(f"Jira issue {issue} did not reach a '{category}' status in {MAX_STEPS} transitions")
    return taken
