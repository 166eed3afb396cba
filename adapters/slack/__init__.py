"""Slack: slash commands, the Events API and interactivity, all at one URL."""

from adapters.slack.handler import SlackAdapter, SlackSettings

__all__ = ["SlackAdapter", "SlackSettings"]
