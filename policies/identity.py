"""Mapping platform accounts to the people named in the configuration."""

from __future__ import annotations

from dataclasses import dataclass

from config import ChatOpsConfig


@dataclass(frozen=True)
class Principal:
    """A person from the configuration, with their roles."""

    name: str
    display_name: str
    roles: frozenset[str]

    def has_any_role(self, roles: list[str]) -> bool:
        return not self.roles.isdisjoint(roles)


class Directory:
    """Looks people up by their platform account id."""

    def __init__(self, config: ChatOpsConfig) -> None:
        self._by_account: dict[tuple[str, str], Principal] = {}
        for name, person in config.people.items():
            principal = Principal(name=name, display_name=person.display_name, roles=frozenset(person.roles))
            for platform in ("teams", "slack", "mattermost"):
                user_id = getattr(person, platform)
                if user_id:
                    self._by_account[(platform, user_id)] = principal

    def lookup(self, platform: str, user_id: str) -> Principal | None:
        return self._by_account.get((platform, user_id))
