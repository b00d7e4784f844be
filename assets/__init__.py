"""Asset factories: every dataset YAML becomes the same chain of software-defined assets."""
