// user: profiles and addresses.
local shop = import 'shop.libsonnet';

shop.task(
  port=8080,
  secrets={ DATABASE_PASSWORD: '/shop/%s/user/database-password' % std.extVar('stack') },
)
