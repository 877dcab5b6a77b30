"""Private helpers of the source and image orchestrator workflows (``source_orchestrator``,
``image_to_scene_*``): intake, options, Stage 1 runtimes, downstream stages, markers.

The leading underscore keeps ``bpflow.workflows`` from importing it as a workflow module."""
