"""ecs-fleet: config, rendering, validation and the offline engine."""
