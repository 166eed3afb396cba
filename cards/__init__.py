"""Adaptive Card 1.5 cards and their renderers for Slack, Mattermost and plain text.

Teams receives the card JSON unchanged. `cards.render_slack.render_blocks`,
`cards.render_mattermost.render_attachment` and `cards.render_text.render_text` translate
the same card for the other platforms.
"""
