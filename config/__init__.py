"""Configuration: the YAML schema, its loader, and the shipped default file."""

from config.schema import (
    ActionSpec,
    ApprovalRule,
    ChatOpsConfig,
    ConfigError,
    ExecutorSpec,
    ParameterSpec,
    PersonSpec,
    load_config,
)

__all__ = [
    "ActionSpec",
    "ApprovalRule",
    "ChatOpsConfig",
    "ConfigError",
    "ExecutorSpec",
    "ParameterSpec",
    "PersonSpec",
    "load_config",
]
