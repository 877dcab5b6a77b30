"""Upsell features (premium tiers): analytics of a scene's recorded episodes."""
