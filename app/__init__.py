"""The application layer shared by train.py, play.py and bench/: the command line (flags, config assembly,
checkpoint lookup, the task list, one-line errors), building an env and its runner, and rendering for play.

Layers point one way: app → tasks → envs / cppo. `cppo` (the learning library) imports none of them."""
