"""Microsoft Teams through the Bot Framework; the only package that imports botbuilder."""

from adapters.teams.handler import TeamsAdapter
from adapters.teams.settings import TeamsSettings

__all__ = ["TeamsAdapter", "TeamsSettings"]
