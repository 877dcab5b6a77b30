"""Isaac Lab Arena export (Stage 5): the scene's objects with affordances, its tasks as Python
modules, and the manifest tying them to the scene USD. The tasks are the evaluation's tasks
(``domain.evaluation.scene_tasks``): one source of truth."""
