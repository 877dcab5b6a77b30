"""The physical world the pipeline reasons about, free of I/O (see DESIGN.md: domain/)."""
