"""Event model and the sources that feed the dispatcher."""
