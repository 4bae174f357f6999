"""Pulumi component resources: the fleet, and each service inside it.

Every component takes `(name, args, opts=None)`, parents all its children
to itself, prefixes their logical names with its own, and uses the type
token scheme `ecs-fleet:<module>:<Type>`.
"""
