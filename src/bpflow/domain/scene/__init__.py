"""The one scene model: categories and what they imply for every stage."""
