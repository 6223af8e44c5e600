"""Writers: the hub status comment, labels, transitions by status name, and mirrored tasks (issues).

Every writer is idempotent:

* ``comment``: one hub comment per issue, edited in place. It is found again through the Link
  (``delivery.link``), else the ``status_property`` issue property, else the marker text in the
  comment itself (covers a crash between creating the comment and recording it).
* ``labels``: add/remove/set through the ``update`` verbs; repeating them changes nothing.
* ``transition``: nothing to do when the issue is already in the target status; a target the
  workflow does not offer from the current status is a ``WorkflowError`` and nothing is changed.
* ``task``: the create carries a marker label and an issue property holding the idempotency key;
  before creating (and after a timeout) the writer looks the issue up by that marker, so a retried
  create never makes a second issue.

A create is sent once (no transport retry): a timed-out POST may have been applied, so the writer
looks for its marker instead of blindly sending it again.
"""

from collabhub_jira.writers.base import JiraWriter
from collabhub_jira.writers.comment import CommentWriter
from collabhub_jira.writers.edits import LabelsWriter, TransitionWriter
from collabhub_jira.writers.task import TaskWriter

__all__ = ["CommentWriter", "JiraWriter", "LabelsWriter", "TaskWriter", "TransitionWriter"]
