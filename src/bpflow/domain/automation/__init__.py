"""The seed running itself: the daily text autonomy loop, scene generation and scene batches."""
