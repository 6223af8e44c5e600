"""Raw Feishu records -> unified entities, one module per API family."""

from collabhub_feishu.mapping.approvals import approval_entities
from collabhub_feishu.mapping.calendar import event_entities
from collabhub_feishu.mapping.directory import department_entity, person_entity, room_entity
from collabhub_feishu.mapping.tasks import task_entity

__all__ = ["approval_entities", "department_entity", "event_entities", "person_entity", "room_entity",
           "task_entity"]
