"""Every user-facing text the rules send, in Chinese and English, from this one module.

``text(lang, key, **values)`` formats one entry; an unknown language falls back to English.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FIELD_NAMES", "LANGS", "TEXTS", "field_name", "text"]

LANGS = ("zh", "en")

TEXTS: dict[str, dict[str, str]] = {
    # digest cards
    "digest.title": {"zh": "协同状态：{receiver}", "en": "Coordination status: {receiver}"},
    "digest.project_title": {"zh": "项目协同状态：{receiver}", "en": "Project status: {receiver}"},
    "digest.summary": {
        "zh": "共享事项 {shared} 项，自上次摘要以来变更 {changed} 项，逾期 {overdue} 项，待确认 {unacked} 项。",
        "en": "{shared} shared items; {changed} changed since the last digest, {overdue} overdue, "
              "{unacked} awaiting acknowledgement.",
    },
    "digest.updated_at": {"zh": "更新于 {at}", "en": "Updated {at}"},
    "section.changes": {"zh": "自上次摘要以来的变更", "en": "Changes since the last digest"},
    "section.overdue": {"zh": "逾期事项", "en": "Overdue items"},
    "section.milestones": {"zh": "即将到来的里程碑", "en": "Upcoming milestones"},
    "section.meetings": {"zh": "即将召开的会议", "en": "Upcoming meetings"},
    "section.stale": {"zh": "未按时更新的共享事项", "en": "Stale shares"},
    "section.unacked": {"zh": "待确认事项", "en": "Awaiting acknowledgement"},
    "section.more": {"zh": "……另有 {n} 项", "en": "... and {n} more"},
    # item lines
    "item.untitled": {"zh": "共享事项", "en": "Shared item"},
    "item.withheld": {"zh": "共享事项（详情不予显示）", "en": "Shared item (details withheld)"},
    "item.busy": {"zh": "忙碌", "en": "Busy"},
    "item.due": {"zh": "截止 {due}", "en": "due {due}"},
    "item.status": {"zh": "状态 {status}", "en": "status {status}"},
    "item.when": {"zh": "{start} – {end}", "en": "{start} – {end}"},
    "item.stale": {"zh": "已 {days} 天未更新", "en": "not updated for {days} days"},
    "item.unacked": {"zh": "{receiver} 未确认（已发送 {hours} 小时）",
                     "en": "{receiver} has not acknowledged ({hours} h)"},
    "status.todo": {"zh": "待办", "en": "to do"},
    "status.in_progress": {"zh": "进行中", "en": "in progress"},
    "status.done": {"zh": "已完成", "en": "done"},
    # per-item deliveries
    "task.footer": {"zh": "由 collabhub 规则「{rule}」共享，来自 {provider}。",
                    "en": "Shared by collabhub rule '{rule}' from {provider}."},
    "withdrawn.title": {"zh": "已撤回的共享事项", "en": "Withdrawn shared item"},
    "withdrawn.body": {"zh": "该事项不再共享给您。", "en": "This item is no longer shared with you."},
    "comment.header": {"zh": "**collabhub 协同状态**", "en": "**collabhub status**"},
    "field.label": {"zh": "{name}：{value}", "en": "{name}: {value}"},
    # freshness
    "fresh.remind.title": {"zh": "请更新共享事项：{title}", "en": "Please update the shared item: {title}"},
    "fresh.remind.title_many": {"zh": "请更新 {n} 项共享事项", "en": "Please update {n} shared items"},
    "fresh.remind.title_withheld": {"zh": "请更新 1 项共享事项（详情不予显示）",
                                    "en": "Please update 1 shared item (details withheld)"},
    "fresh.remind.summary": {
        "zh": "规则「{rule}」要求共享事项每 {days} 天更新一次。负责人：{owner}",
        "en": "Rule '{rule}' asks for an update of shared items every {days} days. Owner: {owner}",
    },
    "fresh.escalate.title": {"zh": "升级提醒：共享事项长期未更新：{title}",
                             "en": "Escalation: stale shared item: {title}"},
    "fresh.escalate.title_many": {"zh": "升级提醒：{n} 项共享事项长期未更新",
                                  "en": "Escalation: {n} stale shared items"},
    "fresh.escalate.title_withheld": {"zh": "升级提醒：1 项共享事项长期未更新（详情不予显示）",
                                      "en": "Escalation: 1 stale shared item (details withheld)"},
    "fresh.escalate.summary": {
        "zh": "提供方 {provider} 在提醒后 {days} 天仍未更新（规则「{rule}」）。",
        "en": "The provider {provider} has not updated it {days} days after the reminder (rule '{rule}').",
    },
}


def text(lang: str, key: str, **values: Any) -> str:
    """The ``key`` text in ``lang`` (zh or en) with ``values`` filled in."""
    entry = TEXTS[key]
    template = entry.get(lang) or entry["en"]
    return template.format(**values) if values else template


# How entity fields are named in deliveries: field -> (zh, en).
FIELD_NAMES: dict[str, tuple[str, str]] = {
    "title": ("标题", "Title"), "description": ("描述", "Description"), "status": ("状态", "Status"),
    "status_category": ("状态", "Status"), "assignee": ("负责人", "Assignee"), "reporter": ("报告人", "Reporter"),
    "due": ("截止", "Due"), "priority": ("优先级", "Priority"), "labels": ("标签", "Labels"),
    "start": ("开始", "Start"), "end": ("结束", "End"), "location": ("地点", "Location"),
    "organizer": ("组织者", "Organizer"), "attendees": ("参会人", "Attendees"), "body": ("备注", "Notes"),
    "url": ("链接", "Link"), "project": ("项目", "Project"), "department": ("部门", "Department"),
    "name": ("名称", "Name"), "capacity": ("容量", "Capacity"), "rooms": ("会议室", "Rooms"),
    "online_url": ("线上会议", "Online meeting"), "resource_id": ("资源", "Resource"),
    "booked_by": ("预订人", "Booked by"), "components": ("模块", "Components"), "is_milestone": ("里程碑", "Milestone"),
}


def field_name(lang: str, name: str) -> str:
    """The display name of an entity field in ``lang`` (the field's own name when unknown)."""
    names = FIELD_NAMES.get(name)
    if names is None:
        return name
    return names[0] if lang == "zh" else names[1]
