"""The replicator bundle (``replicator/``): placement regions, randomisation and its scripts."""
