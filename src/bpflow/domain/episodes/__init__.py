"""Episodes: the recorder, the LeRobot v3.0 writer and the quality certificates of Stage 4."""
