"""Mattermost: a slash command, interactive buttons with signed context, REST API v4."""

from adapters.mattermost.handler import MattermostAdapter, MattermostSettings

__all__ = ["MattermostAdapter", "MattermostSettings"]
