"""Configuration: one YAML file with ``${VAR}`` secrets, ``COLLABHUB_*`` overrides and located errors.

::

    from collabhub.config import load_config
    config = load_config()                      # ./collabhub.yaml, or $COLLABHUB_CONFIG
    jira = config.connector("jira-eng")         # ConnectorEntry with the plugin's validated Config
    config.locate(("sharing", 0, "when"))       # "collabhub.yaml:42:11"

Every error is a :class:`~collabhub.errors.ConfigError` whose ``one_line()`` reads
``file:line:column: dotted.key: what was expected (got <short value>)``; when there are several,
the first (in file order) is raised and ``errors`` lists them all. ``config/reference.yaml``
documents every section.
"""

from collabhub.config._errors import ConfigProblems
from collabhub.config.hub import ConnectorEntry, HubConfig
from collabhub.config.loader import (
    CONFIG_DIR_ENV,
    DEFAULT_CONFIG_FILE,
    load_config,
    resolve_config_path,
    validate_file,
)
from collabhub.config.sections import (
    ConfigDocument,
    CoordinationOffice,
    DaemonSection,
    DepartmentSpec,
    PersonSpec,
    ProjectSpec,
    StoreSection,
    WebhookSettings,
)
from collabhub.config.settings import Settings

__all__ = [
    "CONFIG_DIR_ENV",
    "DEFAULT_CONFIG_FILE",
    "ConfigDocument",
    "ConfigProblems",
    "ConnectorEntry",
    "CoordinationOffice",
    "DaemonSection",
    "DepartmentSpec",
    "HubConfig",
    "PersonSpec",
    "ProjectSpec",
    "Settings",
    "StoreSection",
    "WebhookSettings",
    "load_config",
    "resolve_config_path",
    "validate_file",
]
