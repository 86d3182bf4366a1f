"""soundstep's model factory: data, models, training, export. See factory/README.md."""
