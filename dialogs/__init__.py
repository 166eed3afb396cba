"""Platform-neutral conversation flows: commands, card actions and approvals."""
