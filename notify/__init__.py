"""The delivery service: notices and alerts pushed to chat robots and webhooks."""
