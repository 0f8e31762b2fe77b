"""nova-conductor: orchestration of builds and moves, and the database gateway of the computes."""
