"""Webhook subscriptions and polled events for TPPs (issue 14 items 1 and 3)."""
