// product: the catalogue, read-heavy and cached.
local shop = import 'shop.libsonnet';

shop.task(
  port=8080,
  environment={ CACHE_TTL_SECONDS: 300 },
)
