"""Turning pydantic validation errors into located, one-line, secret-safe ``ConfigError`` s.

Each pydantic error becomes ``file:line:column: dotted.key: what was expected (got <short value>)``.
Values are echoed only when short and not secret: never for fields typed ``SecretStr`` or
whose key mentions secret, token, password or key.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError

from collabhub.config._yaml import KeyPath, YamlDocument, dotted
from collabhub.errors import ConfigError

__all__ = ["ConfigProblems", "from_validation_error", "is_secret_key", "short_value"]

MAX_ECHO = 40
_SECRET_KEY = re.compile(r"secret|token|password|passwd|key|credential", re.IGNORECASE)


class ConfigProblems(ConfigError):
    """Several configuration errors: reads as the first; ``errors`` lists every one-liner."""

    def __init__(self, problems: Sequence[ConfigError]) -> None:
        if not problems:
            raise ValueError("ConfigProblems needs at least one problem")
        flat: list[ConfigError] = []
        for problem in problems:  # a nested group contributes each of its problems
            flat.extend(problem.problems if isinstance(problem, ConfigProblems) else [problem])
        first = flat[0]
        super().__init__(first.message, location=first.location, key=first.key, hint=first.hint)
        self.problems: list[ConfigError] = flat
        self.errors: list[str] = [p.one_line() for p in flat]


def is_secret_key(path: Iterable[Any]) -> bool:
    """True when any key on ``path`` names a secret (secret/token/password/key/credential)."""
    return any(isinstance(part, str) and _SECRET_KEY.search(part) for part in path)


def short_value(value: Any, *, secret: bool = False) -> str:
    """How to show an input value in an error: short scalars verbatim, everything else described."""
    if secret:
        return "a hidden value"
    if value is None:
        return "an empty value"
    if isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        if len(value) <= MAX_ECHO:
            return repr(value)
        return f"a text of {len(value)} characters"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def from_validation_error(
    exc: ValidationError,
    doc: YamlDocument,
    *,
    prefix: KeyPath = (),
    model: type[BaseModel] | None = None,
    overrides: Mapping[KeyPath, str] | None = None,
    extra_keys: Sequence[str] = (),
) -> list[ConfigError]:
    """One located ``ConfigError`` per distinct problem in ``exc`` (union alternatives merged).

    ``prefix`` is where the validated data sits in the document, ``model`` the validated class
    (used to list allowed keys and to spot ``SecretStr`` fields), ``overrides`` maps document
    paths set from environment variables to the variable's name, and ``extra_keys`` are keys
    allowed at the top of the data besides the model's fields (a connector entry's ``type``...).
    """
    merged: dict[tuple[str | None, str], ConfigError] = {}
    for err in exc.errors(include_url=False):
        loc = (*prefix, *err["loc"])
        path, skipped = doc.resolve(loc)
        kind = err["type"]
        key_path: KeyPath = (*path, skipped[-1]) if kind == "missing" and skipped else path
        local = tuple(key_path[len(prefix):])
        secret = is_secret_key(key_path) or _is_secret_field(model, local)
        message, hint = _describe(err, model, local, secret, extra_keys)
        env_var = _override_for(loc, overrides or {})
        if env_var is not None:
            error = ConfigError(message, key=env_var, hint=hint, location="environment")
        else:
            location = doc.locate(path, key=kind == "extra_forbidden")
            error = ConfigError(message, key=dotted(key_path) or None, hint=hint, location=location)
        ident = (error.location, error.key or "")
        if ident in merged and kind != "missing":
            previous = merged[ident]
            if message not in previous.message:
                previous.message = f"{previous.message}, or {message[0].lower()}{message[1:]}"
            continue
        merged.setdefault(ident, error)
    return list(merged.values())


def _describe(err: Mapping[str, Any], model: type[BaseModel] | None, local: KeyPath,
              secret: bool, extra_keys: Sequence[str]) -> tuple[str, str | None]:
    kind = err["type"]
    if kind == "missing":
        return "field required", None
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, local[:-1])
        if len(local) == 1:
            allowed = [*extra_keys, *allowed]
        name = str(local[-1]) if local else ""
        if not allowed:
            return "unknown key", None
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return "unknown key", f"{hint}allowed keys: {', '.join(allowed)}"
    message = str(err["msg"])
    for lead in ("Value error, ", "Assertion failed, "):
        if message.startswith(lead):
            message = message[len(lead):]
    value = err.get("input")
    if secret:  # a validator of a secret field may have quoted the value
        return _scrub(message, value, "***"), "got a hidden value"
    if isinstance(value, str) and len(value) > MAX_ECHO:
        message = _scrub(message, value, "...")
    return message, f"got {short_value(value)}"


def _scrub(message: str, value: Any, mask: str) -> str:
    if isinstance(value, str) and value and value in message:
        return message.replace(value, mask)
    return message


def _override_for(path: Sequence[Any], overrides: Mapping[KeyPath, str]) -> str | None:
    for prefix, name in overrides.items():
        if tuple(path[: len(prefix)]) == prefix:
            return name
    return None


# -- walking model annotations (best effort) ------------------------------------------------


def _candidates(annotation: Any) -> list[Any]:
    """The alternatives of an annotation: unwraps Optional, unions and Annotated."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _candidates(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [c for arg in typing.get_args(annotation) for c in _candidates(arg)]
    return [annotation]


def _step(annotation: Any, part: Any) -> Any:
    for candidate in _candidates(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(part, str):
            field = candidate.model_fields.get(part)
            if field is None:
                field = next((f for f in candidate.model_fields.values() if f.alias == part), None)
            if field is not None:
                return field.annotation
        origin = typing.get_origin(candidate)
        args = typing.get_args(candidate)
        if origin in (list, tuple, set, frozenset, Sequence) and isinstance(part, int) and args:
            return args[0]
        if origin in (dict, Mapping) and len(args) == 2:
            return args[1]
    return None


def _annotation_at(model: type[BaseModel] | None, path: KeyPath) -> Any:
    annotation: Any = model
    for part in path:
        if annotation is None:
            return None
        annotation = _step(annotation, part)
    return annotation


def _allowed_keys(model: type[BaseModel] | None, path: KeyPath) -> list[str]:
    for candidate in _candidates(_annotation_at(model, path)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return [f.alias or name for name, f in candidate.model_fields.items()]
    return []


def _is_secret_field(model: type[BaseModel] | None, path: KeyPath) -> bool:
    annotation = _annotation_at(model, path)
    if annotation is None:
        return False

    def secret(a: Any) -> bool:
        if isinstance(a, type) and issubclass(a, SecretStr | SecretBytes):
            return True
        return any(secret(arg) for arg in typing.get_args(a))

    return secret(annotation)
