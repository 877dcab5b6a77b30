"""Learning loop (Stage 5): LeRobot training on CPU in its own venv (``.venv-train``).

Nothing here imports torch or lerobot: the main venv builds the command line, runs LeRobot's
own ``lerobot-train`` as a subprocess with the training interpreter and reads what it wrote
(checkpoints, the log with the loss curve)."""
