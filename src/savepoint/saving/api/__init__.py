"""The user API of saving: save/load weights and models, Checkpoint, CheckpointManager, verify."""
