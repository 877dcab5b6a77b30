"""Image → scene: photo checks, the vision planner, and the legacy reconstruction chain's geometry."""
