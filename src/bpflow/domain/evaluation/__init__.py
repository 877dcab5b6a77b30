"""Closed-loop policy evaluation: a trained LeRobot policy drives the Panda in the scene's own
MuJoCo simulation, on the same tasks the episodes were recorded for, judged by physics.

The simulation runs in bpflow's venv; the policy runs in ``.venv-train`` (torch + lerobot) as a
child process (``policy_server.py``) that answers observation → action over a pipe."""
