"""The Isaac Lab task package (``isaac_lab/``): task plan, spawn poses, generated sources."""
