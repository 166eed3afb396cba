"""Platform adapters: each verifies, acknowledges and renders for one chat platform."""
