"""Dataset sources: files, generators and task-specific loaders returning canonical rows."""
