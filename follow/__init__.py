"""Everything after the commit: the follower, its consumers, health, and loading batch results."""
